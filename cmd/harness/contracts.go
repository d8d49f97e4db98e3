package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/target/stack"
)

type contractsOptions struct {
	schemas string
	mapping string
	compat  string
	base    string
	jsonOut string
	search  string
	// deprecation overrides harness.yaml contracts.deprecation.
	deprecation string
}

func newContractsCmd(app *App) *cobra.Command {
	var o contractsOptions
	cmd := &cobra.Command{
		Use:   "contracts",
		Short: "Check every API response against its JSON Schema, compare v1 with v2, find breaking changes",
		Long: `contracts brings the target up (or uses --stack external) and runs a scripted
sequence of API calls (create tree, upsert, volumes, detail save, conflict,
search, rekap, exports, bad inputs, unauthenticated, rate-limited) once through
v1 and once through v2, each as its own seeded user on its own project. Every
response is checked against its schema (status, headers, body); the v1 and v2
responses are compared field by field through mapping.yaml; the v1 and v2
schemas, and the v1 schemas against the v2 responses actually seen, are
classified breaking / non-breaking, and breaking changes not listed in
compat.yaml fail. Prints tables; exits 1 when anything fails.

URL families are discovered: the legacy family (/detail_project/api/project/)
is the v1 baseline; /api/v1/ and /api/v2/ are probed once each and an absent
one is reported once as not deployed. Deployed quirks (REAL-APP.md section 8)
are findings with stable ids that compat.yaml can accept one by one.

Safe on real data: writing steps run only on projects declared scratch
(users file "name:password 12 scratch", harness.yaml stack.users[].scratch;
projects the harness seeds are scratch). A scratch project is snapshotted
through the read API first and restored afterwards, the restore proven by a
read-back diff. 'harness contracts plan' lists every request and its class.

The schemas, mapping.yaml and compat.yaml are built into the binary; the
--schemas, --mapping and --compat flags replace them with files.`,
		Example: `  harness contracts --stack local
  harness contracts --stack local --defect v2-drift
  harness contracts plan
  harness contracts diff --base ./baseline-schemas
  harness contracts export ./baseline-schemas`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.contracts(cmd.Context(), o) },
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.schemas, "schemas", "", "schema directory (holding v1/, v2/, common/) instead of the built-in schemas")
	f.StringVar(&o.mapping, "mapping", "", "mapping file instead of the built-in mapping.yaml")
	f.StringVar(&o.compat, "compat", "", "compat file instead of the built-in compat.yaml")
	f.StringVar(&o.jsonOut, "json", "", "also write the result data (contracts.Report) as JSON to this file")
	cmd.Flags().StringVar(&o.base, "base", "", "also compare the schemas with this baseline schema directory")
	cmd.Flags().StringVar(&o.search, "search-term", contracts.DefaultSearchTerm, "catalog search term that finds reference AHSP entries")
	cmd.Flags().StringVar(&o.deprecation, "deprecation", "", "Deprecation/Sunset/Link on legacy and v1 answers once v2 is deployed: required, advisory or off (default harness.yaml contracts.deprecation, else advisory)")

	planCmd := &cobra.Command{
		Use:   "plan",
		Short: "Print every request the contract suite may send, each classified read-only or writing; sends nothing",
		Long: `plan lists the suite's requests in order: the family probes, the snapshot
reads, the script, the bad inputs, the rate-limit calls and the restore. Each
is read-only or writing. Writing steps run only on projects declared scratch
(the word "scratch" after the projects in the users file, or scratch: true on
a harness.yaml stack.users entry; the projects the harness seeds itself are
scratch); on any other project they are skipped and only read-only steps run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			contracts.RenderPlan(app.Stdout, contracts.Plan(), o.search)
			return nil
		},
	}
	planCmd.Flags().StringVar(&o.search, "search-term", contracts.DefaultSearchTerm, "catalog search term that finds reference AHSP entries")

	diff := &cobra.Command{
		Use:   "diff [--base DIR]",
		Short: "Classify the differences between a baseline schema directory and the current schemas (no target needed)",
		Long: `diff compares the schemas in --base (a directory laid out like the built-in
one: v1/, v2/, common/) with the current schemas, version by version, and the
current v1 schemas with the current v2 schemas through mapping.yaml. Each
difference is classified breaking or non-breaking; a breaking one that
compat.yaml does not accept fails (exit 1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.contractsDiff(o) },
	}
	diff.Flags().StringVar(&o.base, "base", "", "baseline schema directory (without it only v1 is compared with v2)")

	export := &cobra.Command{
		Use:   "export DIR",
		Short: "Write the built-in schemas, mapping.yaml and compat.yaml to DIR (to keep as a baseline)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return app.contractsExport(args[0]) },
	}
	cmd.AddCommand(diff, export, planCmd)
	return cmd
}

func (a *App) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.Dir, p)
}

// contractsInputs loads the schema set, mapping, compat file and baseline.
func (a *App) contractsInputs(o contractsOptions) (contracts.Options, error) {
	var opts contracts.Options
	var err error
	usage := func(err error) (contracts.Options, error) {
		return contracts.Options{}, exitcode.New(exitcode.Usage, err)
	}
	if o.schemas != "" {
		if opts.Set, err = contracts.Load(os.DirFS(a.abs(o.schemas)), o.schemas); err != nil {
			return usage(fmt.Errorf("--schemas: %w", err))
		}
	} else if opts.Set, err = contracts.LoadEmbedded(); err != nil {
		return opts, err
	}
	if o.mapping != "" {
		if opts.Mapping, err = contracts.LoadMapping(os.DirFS(filepath.Dir(a.abs(o.mapping))), filepath.Base(o.mapping)); err != nil {
			return usage(fmt.Errorf("--mapping: %w", err))
		}
	}
	if o.compat != "" {
		if opts.Compat, err = contracts.LoadCompatFile(a.abs(o.compat)); err != nil {
			return usage(fmt.Errorf("--compat: %w", err))
		}
	}
	if o.base != "" {
		dir := a.abs(o.base)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return usage(fmt.Errorf("--base %s: not a directory (make one with 'harness contracts export DIR')", o.base))
		}
		if opts.Baseline, err = contracts.Load(os.DirFS(dir), o.base); err != nil {
			return usage(fmt.Errorf("--base: %w", err))
		}
	}
	opts.SearchTerm = o.search
	opts.Progress = a.progress()
	dep := o.deprecation
	if dep == "" && a.cfg != nil && a.cfg.Contracts.Deprecation != nil {
		dep = *a.cfg.Contracts.Deprecation
		if opts.Deprecation, err = contracts.ParseDeprecationPolicy(dep); err != nil {
			return usage(fmt.Errorf("%s: %w", a.cfg.at("contracts.deprecation"), err))
		}
	} else if opts.Deprecation, err = contracts.ParseDeprecationPolicy(dep); err != nil {
		return usage(fmt.Errorf("--deprecation: %w", err))
	}
	return opts, nil
}

func (a *App) contracts(ctx context.Context, o contractsOptions) error {
	opts, err := a.contractsInputs(o)
	if err != nil {
		return err
	}
	var rep *contracts.Report
	err = a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
		info := s.Info()
		if info.Cache == stack.CacheRedis && info.FailurePolicy == "fail-closed" {
			if ctl, err := s.Control(); err == nil {
				opts.Cache = ctl
			}
		}
		fmt.Fprintf(a.progress(), "harness: contracts against %s (defects: %s)\n", s.BaseURL(), orNone(info.Defects))
		var err error
		rep, err = contracts.Run(ctx, s, opts)
		if err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return a.contractsResult(rep, o)
}

func (a *App) contractsDiff(o contractsOptions) error {
	opts, err := a.contractsInputs(o)
	if err != nil {
		return err
	}
	rep, err := contracts.Static(opts)
	if err != nil {
		return err
	}
	return a.contractsResult(rep, o)
}

func (a *App) contractsResult(rep *contracts.Report, o contractsOptions) error {
	contracts.Render(a.Stdout, rep)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(a.abs(o.jsonOut), append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write contracts json: %w", err)
		}
	}
	return verdictExit("contracts", rep.Status, "")
}

func (a *App) contractsExport(dir string) error {
	dst := a.abs(dir)
	if _, err := os.Stat(filepath.Join(dst, "v1")); err == nil {
		return exitcode.Errorf(exitcode.Usage, "export %s: it already holds schemas; pick an empty directory", dir)
	}
	sub, err := fs.Sub(contracts.Embedded, "schemas")
	if err != nil {
		return fmt.Errorf("export schemas: %w", err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), b, 0o644)
	})
	for _, name := range []string{"mapping.yaml", "compat.yaml"} {
		if err != nil {
			break
		}
		var b []byte
		if b, err = fs.ReadFile(contracts.Embedded, name); err == nil {
			err = os.WriteFile(filepath.Join(dst, name), b, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("export schemas: %w", err)
	}
	fmt.Fprintf(a.Stdout, "wrote the built-in schemas, mapping.yaml and compat.yaml to %s\n", dst)
	return nil
}
