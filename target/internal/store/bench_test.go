package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Login cost is dominated by the PBKDF2 work factor (HashIterations).
func BenchmarkAuthenticate(b *testing.B) {
	st := openSeeded(b, 1, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, ok, err := st.Authenticate(ctx, "user1@example.test", testPassword); err != nil || !ok {
			b.Fatal("login failed", err)
		}
	}
}

// Every authenticated request reads its session from the database.
func BenchmarkSessionGet(b *testing.B) {
	st := openSeeded(b, 1, 0)
	ctx := context.Background()
	s := st.Sessions()
	if err := s.Set(ctx, "bench-key", 1, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "bench-key"); err != nil || !ok {
			b.Fatal("session lost", err)
		}
	}
}

// A login writes one session (one write transaction).
func BenchmarkSessionSet(b *testing.B) {
	st := openSeeded(b, 1, 0)
	ctx := context.Background()
	s := st.Sessions()
	i := 0
	for b.Loop() {
		i++
		if err := s.Set(ctx, fmt.Sprintf("k%d", i), 1, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
