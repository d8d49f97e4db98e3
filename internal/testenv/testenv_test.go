package testenv

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeT records what a helper did to the test instead of stopping it.
type fakeT struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeT) Helper()                       {}
func (f *fakeT) Skipf(format string, a ...any) { f.skipped, f.msg = true, format; panic(stop{}) }
func (f *fakeT) Fatalf(format string, a ...any) {
	f.failed, f.msg = true, format
	panic(stop{})
}
func (f *fakeT) Logf(format string, a ...any) { f.msg = format }

type stop struct{}

func call(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	f()
}

func TestNeed(t *testing.T) {
	missing := errors.New("not found")
	for _, tc := range []struct {
		name            string
		ci              string
		err             error
		skipped, failed bool
	}{
		{"present", "", nil, false, false},
		{"present under CI", "true", nil, false, false},
		{"missing locally: loud skip", "", missing, true, false},
		{"missing under CI: failure", "true", missing, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			f := &fakeT{}
			call(func() { Need(f, "a thing", tc.err) })
			require.Equal(t, tc.skipped, f.skipped)
			require.Equal(t, tc.failed, f.failed)
			if tc.skipped {
				require.Contains(t, f.msg, "SKIPPED LOUDLY")
			}

			f = &fakeT{}
			var have bool
			call(func() { have = Have(f, "a thing", tc.err) })
			require.Equal(t, tc.err == nil, have && !f.failed)
			require.Equal(t, tc.failed, f.failed)
		})
	}
}

func TestNeedBinary(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeT{}
	call(func() { NeedBinary(f, "no-such-program-ahsp", "apt-get install nothing") })
	require.True(t, f.skipped)
	require.NotEmpty(t, NeedBinary(t, "sh", ""))
}
