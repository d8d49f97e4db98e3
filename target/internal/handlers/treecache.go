package handlers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/internal/store"
)

// TreeCacheTTL is how long the deployed app keeps an unsearched tree
// (REAL-APP.md 3.3).
const TreeCacheTTL = 300 * time.Second

// treeCacheMax bounds the entries one worker keeps; past it the expired
// ones go, and if none has, everything.
const treeCacheMax = 1024

// treeCache is the tree-cache-stale defect: the deployed app caches each
// unsearched tree answer for 300 s in the worker's own cache (Django's
// default per-process memory cache), keyed by the project's
// max(pekerjaan.updated_at). Its upsert does not touch updated_at, so after
// an upsert the key stays and each worker that cached the tree serves the
// old one until the entry expires. The reference target keeps the entry in
// the worker process for both as-deployed profiles (see docs/contracts.md).
type treeCache struct {
	mu sync.Mutex
	m  map[string]treeEntry
}

type treeEntry struct {
	res     store.TreeResult
	expires time.Time
}

// cachedTree answers an unsearched tree from the worker's cache when the
// project's key has an entry that has not expired, else reads it and keeps it.
func (h *Handlers) cachedTree(ctx context.Context, pid int64) (store.TreeResult, error) {
	stamp, err := h.st.TreeStamp(ctx, pid)
	if err != nil {
		return store.TreeResult{}, err
	}
	key := fmt.Sprintf("tree:%d:%s", pid, stamp)
	now := h.now()
	c := &h.trees
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.res, nil
	}
	res, err := h.st.Tree(ctx, pid, "")
	if err != nil {
		return res, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]treeEntry{}
	}
	if len(c.m) >= treeCacheMax {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= treeCacheMax {
			clear(c.m)
		}
	}
	c.m[key] = treeEntry{res: res, expires: now.Add(TreeCacheTTL)}
	return res, nil
}
