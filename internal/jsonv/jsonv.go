// Package jsonv reads decoded JSON (map[string]any, []any, numbers as
// json.Number or float64) without a type switch at every call.
package jsonv

import (
	"encoding/json"
	"strconv"
)

// Field is v's member key, or nil when v is not an object.
func Field(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

// List is v's member key as an array, or nil.
func List(v any, key string) []any {
	l, _ := Field(v, key).([]any)
	return l
}

// Int is v as an int (0 when it is not a whole number).
func Int(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := strconv.Atoi(x.String())
		return n
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}
