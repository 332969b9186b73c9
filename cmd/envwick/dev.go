package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/mattermost"
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
	// One person trying it out reads the status branch (envwick status)
	// right after a change: hold status writes back for a short while only.
	cmd.Flags().Lookup("status-interval").DefValue = "2s"
	cmd.Flags().Set("status-interval", envString("status-interval", "2s"))
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
	local, err := newLocalMode(dataDir, out)
	if err != nil {
		return err
	}
	cfg.Local = local
	removeURL := func() {}
	return runSystem(ctx, cfg, logOut, "dev", func(sys *System, url string) {
		if err := sys.registerProvisionerWebhook(ctx, url); err != nil {
			sys.Logger.Warn("registering the provisioner webhook failed; periodic passes still follow the simulator", "error", err)
		}
		if rm, err := local.writeURL(url); err != nil {
			sys.Logger.Warn("recording the URL for 'envwick try' failed", "error", err)
		} else {
			removeURL = rm
		}
		info := devInfo{dataDir: dataDir, repo: repoPath, sim: simURL, url: url, seeded: seeded, branch: cfg.Branch,
			interval: envs.FormatDuration(cfg.Interval), example: firstEnvironment(ctx, sys)}
		info.exe, _ = os.Executable()
		info.github = muxServes(sys, http.MethodPost, githubbot.WebhookPath)
		info.localGitHub = muxServes(sys, http.MethodGet, devGitHubPostsPath)
		info.chat = muxServes(sys, http.MethodPost, mattermost.CommandPath)
		printDevHelp(out, info)
	}, func() {
		removeURL()
		fmt.Fprintln(out, "\nenvwick dev stopped. State is kept in", dataDir)
	})
}

// muxServes reports whether a part mounted a handler for path.
func muxServes(sys *System, method, path string) bool {
	_, pattern := sys.Mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path}})
	return pattern != "" && pattern != "/"
}

// firstEnvironment names an environment of the repository, for the
// commands the banner prints.
func firstEnvironment(ctx context.Context, sys *System) string {
	head, err := sys.Repo.Head("")
	if err != nil || head == "" {
		return "NAME"
	}
	snap, err := sys.Repo.Load(ctx, head)
	if err != nil {
		return "NAME"
	}
	var names []string
	for name, e := range snap.Environments {
		if e.Err == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "NAME"
	}
	slices.Sort(names)
	return names[0]
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
	// exe is this binary, example an environment to show commands on.
	exe, example              string
	github, localGitHub, chat bool
	seeded                    int
}

// printDevHelp prints what runs and what to try. Every line starting with
// "  $ " is a command that works as printed from the folder its paragraph
// names (TestDevBannerCommandsWork runs them all).
func printDevHelp(w io.Writer, d devInfo) {
	q := shellQuote
	exe := q(d.exe)
	dd := "--data-dir " + q(d.dataDir)
	seeded := ""
	if d.seeded > 0 {
		seeded = fmt.Sprintf(" (new: seeded with %s)", plural(d.seeded, "environment"))
	}
	work := filepath.Join(d.dataDir, "work")
	fmt.Fprintf(w, "\nenvwick dev is running. State is in %s; delete it to start over.\n\n", d.dataDir)
	fmt.Fprintf(w, "  envs repository  %s%s\n", d.repo, seeded)
	fmt.Fprintf(w, "                   branch %s is what people edit; status is on branch %s\n", d.branch, reconciler.StatusBranch)
	fmt.Fprintf(w, "  provisioner      %s  (the bundled simulator)\n", d.sim)
	fmt.Fprintf(w, "  envwick          %s  (/metrics /healthz /readyz /webhooks/provisioner)\n", d.url)
	fmt.Fprintf(w, "  dashboard        %s/  (every environment; 'envwick status' in a terminal)\n", d.url)
	switch {
	case d.localGitHub:
		fmt.Fprintf(w, "  GitHub bot       %s%s  (local: no GitHub; what it would post is printed here)\n", d.url, githubbot.WebhookPath)
		fmt.Fprintf(w, "                   with the pull request automation: /e2e-test and the stale sweep on acme/app\n")
	case d.github:
		fmt.Fprintf(w, "  GitHub bot       %s%s\n", d.url, githubbot.WebhookPath)
	}
	if d.chat {
		fmt.Fprintf(w, "  Mattermost bot   %s%s  (/cloud; direct messages are printed here)\n", d.url, mattermost.CommandPath)
	}
	fmt.Fprintf(w, "\nTry next, in another terminal, from any folder:\n")
	if d.localGitHub {
		fmt.Fprintf(w, "  $ %s try label %s --repo acme/app --pr 12 --label %s\n", exe, dd, q(githubbot.LabelCloud))
	}
	if d.chat {
		fmt.Fprintf(w, "  $ %s try cloud %s --user alice create conf42 --license e20\n", exe, dd)
	}
	fmt.Fprintf(w, "  $ %s status %s\n", exe, dd)
	fmt.Fprintf(w, "  $ curl -s %s/metrics | grep envwick_environments\n", d.url)
	if _, err := os.Stat(work); err != nil {
		fmt.Fprintf(w, "  $ git clone %s %s\n", q(d.repo), q(work))
	} else {
		fmt.Fprintf(w, "  $ git -C %s pull\n", q(work))
	}
	fmt.Fprintf(w, "\nIn %s: edit environments/*.yaml (change spec.installation.version,\nset state: hibernated, or add a file), then:\n", work)
	fmt.Fprintf(w, "  $ %s plan --dir .    # what the next pass would do (exit 2: something would change)\n", exe)
	fmt.Fprintf(w, "  $ git add -A && git commit -m %s && git push\n", q("Change an environment"))
	fmt.Fprintf(w, "  $ git fetch && git show origin/%s:status/%s.yaml\n", reconciler.StatusBranch, d.example)
	fmt.Fprintf(w, "\nA push starts a pass within a second; passes also run every %s and at once on each state change. Ctrl-C stops.\n", d.interval)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
