package store

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one rejected input, located by a path into the request
// body such as "klasifikasi[0].sub[1].pekerjaan[2].ref_id".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationError means nothing was saved: every error is listed.
type ValidationError struct {
	Message string
	Errors  []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fe.Path+": "+fe.Message)
	}
	return fmt.Sprintf("validation failed: %s", strings.Join(parts, "; "))
}

func invalid(msg string, errs ...FieldError) *ValidationError {
	return &ValidationError{Message: msg, Errors: errs}
}

// ConflictError is an optimistic-lock failure: the client edited a version
// older than the server's.
type ConflictError struct {
	ServerUpdatedAt string
	Message         string
}

func (e *ConflictError) Error() string {
	return "conflict: server version " + e.ServerUpdatedAt
}

// ErrNotFound means the addressed row does not exist in the project.
var ErrNotFound = errors.New("not found")

// Path helpers build the dotted/indexed paths of FieldError.
func idx(prefix string, i int) string { return fmt.Sprintf("%s[%d]", prefix, i) }

func field(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
