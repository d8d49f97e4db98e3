// Package contracts checks the AHSP project APIs against declared contracts:
// JSON Schemas (draft 2020-12) for every operation's request body and
// responses in v1 (shared by the legacy paths) and v2, a runtime suite that
// drives a live deployment through both versions, a field-by-field v1<->v2
// equivalence check driven by mapping.yaml, a breaking-change classifier for
// schema pairs (v1 against v2, or against a baseline directory) with accepted
// differences in compat.yaml, and a bounded Sampler that load scenarios feed.
// Results are plain data (Report) for the reports package.
package contracts
