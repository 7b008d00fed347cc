// Package build builds images from a Dockerfile, like `docker build`.
//
// Dockerfiles are parsed by buildkit's parser and instructions packages
// (which also expand ARG and ENV variables); .dockerignore files by
// moby/patternmatcher. Each stage starts from an image in the store (or
// scratch); RUN runs in a container through the Executor the caller gives
// (cmd wires it to the engine) and its upper directory becomes a layer
// with image.Store.Commit; COPY and ADD write files into a fresh directory
// through image.Unpack (which refuses anything that would land outside it)
// and commit it the same way; the other instructions change the config.
// There is no layer cache: every build runs every step.
package build
