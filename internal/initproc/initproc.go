// Package initproc is the tiny init berth runs as PID 1 of a container
// started with --init: it starts the real command, forwards signals to it,
// reaps zombies and exits with the command's status.
package initproc

// Main runs the init with args ("--", command...) and returns the exit code.
func Main(args []string) int { return 127 }
