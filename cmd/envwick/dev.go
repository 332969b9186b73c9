package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/examples"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

func newDevCmd() *cobra.Command {
	var cfg systemConfig
	var seed string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run envwick locally: an envs repository, the provisioner simulator and the reconciler",
		Long: `dev runs the whole system on this machine with nothing to configure (what
'make run' does): a local envs repository in the data dir (seeded from
envs/examples, bundled in the binary, the first time), the provisioner simulator on
loopback, and the reconciler with metrics, health and webhooks. It prints
what to try next and runs until Ctrl-C. State (repository and simulator)
survives restarts; delete the data dir to start over.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), &cfg, seed, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.addServeFlags(cmd.Flags(), "127.0.0.1:0")
	cmd.Flags().StringVar(&seed, "seed", "", "folder of environment files to seed a new dev repository with (default: the bundled examples)")
	// People read dev's logs: text, and a shorter interval than serve's.
	cmd.Flags().Lookup("log-format").DefValue = "text"
	cmd.Flags().Set("log-format", envString("log-format", "text"))
	cmd.Flags().Lookup("interval").DefValue = "10s"
	cmd.Flags().Set("interval", envString("interval", "10s"))
	// The dev repository is on this machine: reading its head is a file read.
	cmd.Flags().Lookup("poll-interval").DefValue = "500ms"
	cmd.Flags().Set("poll-interval", envString("poll-interval", "500ms"))
	return cmd
}

func runDev(ctx context.Context, cfg *systemConfig, seed string, out, logOut io.Writer) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("creating the data dir: %w", err)
	}
	repoPath := devRepoPath(dataDir)
	seeded, err := ensureDevRepo(ctx, repoPath, seed)
	if err != nil {
		return err
	}

	sim, err := provisionersim.New(provisionersim.Options{DataDir: filepath.Join(dataDir, "provisioner-sim")})
	if err != nil {
		return fmt.Errorf("starting the provisioner simulator: %w", err)
	}
	defer sim.Close()
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	provFile := devProvisionerFile(dataDir)
	if err := os.WriteFile(provFile, []byte(simURL+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(provFile)

	if cfg.RepoURL == "" {
		cfg.RepoURL = repoPath
	}
	if cfg.ProvisionerURL == "" {
		cfg.ProvisionerURL = simURL
	}
	if err := ensureDevWebhookToken(cfg); err != nil {
		return err
	}
	return runSystem(ctx, cfg, logOut, "dev", func(sys *System, url string) {
		if err := sys.registerProvisionerWebhook(ctx, url); err != nil {
			sys.Logger.Warn("registering the provisioner webhook failed; periodic passes still follow the simulator", "error", err)
		}
		printDevHelp(out, devInfo{dataDir: dataDir, repo: repoPath, sim: simURL, url: url, seeded: seeded, branch: cfg.Branch, interval: cfg.Interval.String()})
	}, func() {
		fmt.Fprintln(out, "\nenvwick dev stopped. State is kept in", dataDir)
	})
}

// ensureDevRepo creates the dev envs repository and seeds it the first
// time; it reports how many files were seeded (0 when it already existed).
func ensureDevRepo(ctx context.Context, path, seed string) (int, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, nil
	}
	// The sample environments are embedded, so a new dev repository is
	// seeded the same way whatever folder envwick runs from.
	src, root, name := examples.FS(), envs.Dir, "the bundled examples"
	if seed != "" {
		src, root, name = os.DirFS(seed), ".", filepath.ToSlash(seed)
	}
	files := map[string][]byte{}
	err := fs.WalkDir(src, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := p
		if root != "." {
			rel = strings.TrimPrefix(p, root+"/")
		}
		target := envs.Dir + "/" + rel
		if !envs.IsEnvironmentPath(target) {
			return nil
		}
		data, err := fs.ReadFile(src, p)
		files[target] = data
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reading seed environments from %s: %w", name, err)
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no environment files in %s", name)
	}
	repo, err := store.Open(ctx, store.Options{Dir: path, Committer: store.Signature{Name: "envwick", Email: "envwick@localhost"}})
	if err != nil {
		return 0, fmt.Errorf("creating the dev envs repository: %w", err)
	}
	defer repo.Close()
	_, err = repo.Commit(ctx, store.Change{
		Message: "Seed the dev envs repository from " + name,
		Apply: func(tx *store.Tx) error {
			for p, data := range files {
				tx.Write(p, data)
			}
			return nil
		},
	})
	if err != nil {
		return 0, fmt.Errorf("seeding the dev envs repository: %w", err)
	}
	return len(files), nil
}

type devInfo struct {
	dataDir, repo, sim, url, branch, interval string
	seeded                                    int
}

func printDevHelp(w io.Writer, d devInfo) {
	rel := func(p string) string {
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return p
	}
	seeded := ""
	if d.seeded > 0 {
		seeded = fmt.Sprintf(" (new: seeded with %d environments)", d.seeded)
	}
	fmt.Fprintf(w, `
envwick dev is running.

  envs repository  %s%s
                   branch %s is what people edit; status is on branch %s
  provisioner      %s  (the bundled simulator)
  envwick          %s  (/metrics /healthz /readyz /webhooks/provisioner)
  dashboard        %s/  (every environment; 'envwick status' in a terminal)

Try next, in another terminal:
  git clone %s /tmp/envs && cd /tmp/envs
  # edit environments/*.yaml (e.g. change spec.installation.version, or set
  # state: hibernated), or add a file, then:
  git commit -am "Change an environment" && git push
  ./bin/envwick plan                      # from this folder: what the next pass would do
  git fetch && git show origin/%s:status/<name>.yaml   # recorded status
  curl -s %s/metrics | grep envwick_environments

The reconciler runs every %s and at once on each state change. Ctrl-C stops.
`, rel(d.repo), seeded, d.branch, reconciler.StatusBranch, d.sim, d.url, d.url, rel(d.repo), reconciler.StatusBranch, d.url, d.interval)
}
