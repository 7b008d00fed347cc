// Package compose turns compose files into berth projects and brings them to
// life. It loads and validates a project with compose-go and converts it to
// berth's own plain structs (Project, Service), builds the dependency graph,
// computes a Plan from the desired project and the observed containers (a pure
// function whose text the tests assert), and executes that Plan in dependency
// order against small interfaces (Containers, Networks, Volumes, Images) that
// the engine satisfies. It also names and labels every object the way Docker
// Compose does, takes the per-project lock, renders progress and multiplexes
// service logs.
package compose
