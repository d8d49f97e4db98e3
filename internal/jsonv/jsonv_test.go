package jsonv

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReaders(t *testing.T) {
	var v any
	dec := json.NewDecoder(strings.NewReader(`{"id": 7, "rows": [{"n": 2}], "s": "x"}`))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&v))
	require.Equal(t, 7, Int(Field(v, "id")))
	require.Len(t, List(v, "rows"), 1)
	require.Equal(t, 2, Int(Field(List(v, "rows")[0], "n")))
	require.Equal(t, 3, Int(3.0))
	require.Zero(t, Int(Field(v, "s")), "not a number")
	require.Nil(t, List(v, "s"), "not an array")
	require.Nil(t, Field("not an object", "id"))
}
