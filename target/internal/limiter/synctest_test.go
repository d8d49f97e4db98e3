package limiter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLocmemDefaultClockInSynctest runs locmem on its default clock
// (time.Now) inside a synctest bubble, where time.Sleep advances a fake clock
// instantly. A steady client sending one request every 4 s under a limit of
// 3 per 10 s is throttled by the naive limiter, because every allowed request
// pushes the expiry back (the real app's behaviour), and never by the fixed
// window.
func TestLocmemDefaultClockInSynctest(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		wants []bool
	}{
		{"fixed", Config{Backend: "locmem", Algorithm: "fixed"}, []bool{true, true, true, true, true, true, true, true}},
		{"naive", Config{Backend: "locmem", Naive: true}, []bool{true, true, true, false, false, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, err := New(tt.cfg)
				require.NoError(t, err)
				p := Policy{Limit: 3, Window: 10 * time.Second}
				var got []bool
				for range tt.wants {
					d, err := l.Allow(context.Background(), "user:1:save", p)
					require.NoError(t, err)
					got = append(got, d.Allowed)
					time.Sleep(4 * time.Second)
				}
				require.Equal(t, tt.wants, got)
			})
		})
	}
}
