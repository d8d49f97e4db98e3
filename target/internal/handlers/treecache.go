package handlers

import (
	"context"
	"encoding/json"
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
// unsearched tree answer for 300 s in Django's cache, keyed by the
// project's max(pekerjaan.updated_at). Its upsert does not touch
// updated_at, so after an upsert the key stays and the cached tree is served
// until the entry expires. With the default per-process memory cache each
// worker keeps its own entry (this map); with django-redis every worker
// shares one (SharedCache, set by SetSharedCache).
type treeCache struct {
	mu sync.Mutex
	m  map[string]treeEntry
}

type treeEntry struct {
	res     store.TreeResult
	expires time.Time
}

// SharedCache is a cache every worker shares (Redis, as django-redis).
type SharedCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// SetSharedCache keeps cached trees in c instead of the worker's memory.
func (h *Handlers) SetSharedCache(c SharedCache) { h.shared = c }

// cachedTree answers an unsearched tree from the cache when the project's
// key has an entry that has not expired, else reads it and keeps it.
func (h *Handlers) cachedTree(ctx context.Context, pid int64) (store.TreeResult, error) {
	stamp, err := h.st.TreeStamp(ctx, pid)
	if err != nil {
		return store.TreeResult{}, err
	}
	key := fmt.Sprintf("tree:%d:%s", pid, stamp)
	if h.shared != nil {
		return h.sharedTree(ctx, pid, key)
	}
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

// sharedTree is cachedTree on the shared cache. A cache that fails is what
// the deployed app raises on (cache-errors-raise answers 500 before this);
// here the tree is read from the database instead.
func (h *Handlers) sharedTree(ctx context.Context, pid int64, key string) (store.TreeResult, error) {
	if b, ok, err := h.shared.Get(ctx, key); err == nil && ok {
		var res store.TreeResult
		if err := json.Unmarshal(b, &res.Klasifikasi); err == nil {
			return res, nil
		}
	}
	res, err := h.st.Tree(ctx, pid, "")
	if err != nil {
		return res, err
	}
	if b, err := json.Marshal(res.Klasifikasi); err == nil {
		if err := h.shared.Set(ctx, key, b, TreeCacheTTL); err != nil {
			h.log.Warn("tree cache: keep the tree", "err", err.Error(), "project", pid)
		}
	}
	return res, nil
}
