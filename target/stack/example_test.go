package stack_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// Bring the target up wherever it can run, log in as a seeded user, slow
// Redis down for a while, and take everything down again.
func ExampleUp() {
	ctx := context.Background()
	s, err := stack.Up(ctx, stack.Spec{Mode: stack.ModeAuto, Workers: 4, Cache: stack.CacheRedis, Progress: os.Stderr})
	defer s.Down(ctx) // also after an error: Up returns what it started
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Info().Mode, s.BaseURL())

	cred := s.Credentials()[0]
	c, _ := client.New(s.BaseURL())
	if err := c.Login(ctx, cred.User, cred.Password); err != nil {
		log.Fatal(err)
	}

	ctl, err := s.Control()
	if err != nil {
		log.Fatal(err) // stack.ErrUnsupported in external mode
	}
	remove, err := ctl.AddCacheLatency(ctx, 200*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	defer remove(ctx)
}
