package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH is an SSH server serving every repository under Root to one client
// key, running git-upload-pack and git-receive-pack for the commands
// clients send, as a git host's SSH endpoint does.
type SSH struct {
	Root string
	// KeyFile is the client's private key (OpenSSH format, no passphrase).
	KeyFile string
	// KnownHostsFile holds the server's host key for the address it
	// listens on.
	KnownHostsFile string
	addr           string
}

// StartSSH starts the server on a free loopback port, with fresh host and
// client keys written under a temporary folder; it stops when the test
// ends.
func StartSSH(t testing.TB, root string) *SSH {
	t.Helper()
	dir, err := execPath()
	if err != nil {
		t.Fatal(err)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	keyFile, authorized := NewKeyFile(t, keys)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) != string(authorized.Marshal()) {
				return nil, errors.New("unknown key")
			}
			return nil, nil
		},
	}
	cfg.AddHostKey(hostSigner)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	s := &SSH{Root: root, addr: l.Addr().String(), KeyFile: keyFile}
	s.KnownHostsFile = s.WriteKnownHosts(t, keys, hostSigner.PublicKey())

	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serveConn(c, cfg, dir) })
		}
	})
	return s
}

// NewKeyFile writes a new ed25519 private key (OpenSSH format, no
// passphrase) under dir and returns its path and public key.
func NewKeyFile(t testing.TB, dir string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, "id_ed25519-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return f.Name(), key
}

// WriteKnownHosts writes a known_hosts file under dir saying that the
// server's address has host key key, and returns its path.
func (s *SSH) WriteKnownHosts(t testing.TB, dir string, key ssh.PublicKey) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "known_hosts-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, key)); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// URL is the ssh:// URL of the repository called name.
func (s *SSH) URL(name string) string { return "ssh://git@" + s.addr + "/" + name }

func (s *SSH) serveConn(c net.Conn, cfg *ssh.ServerConfig, gitDir string) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Go(func() { s.serveSession(ch, requests, gitDir) })
	}
}

// serveSession runs the one git command a session asks for.
func (s *SSH) serveSession(ch ssh.Channel, requests <-chan *ssh.Request, gitDir string) {
	defer ch.Close()
	for req := range requests {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		cmd, err := s.command(payload.Command, gitDir)
		if err != nil {
			_ = req.Reply(false, nil)
			fmt.Fprintln(ch.Stderr(), err)
			return
		}
		_ = req.Reply(true, nil)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = uint32(exit.ExitCode())
			}
		}
		_ = ch.CloseWrite()
		_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
		return
	}
}

// command turns "git-upload-pack '/name.git'" into the program to run on
// the repository under Root.
func (s *SSH) command(line, gitDir string) (*exec.Cmd, error) {
	prog, arg, ok := strings.Cut(line, " ")
	if !ok || (prog != "git-upload-pack" && prog != "git-receive-pack") {
		return nil, fmt.Errorf("unsupported command %q", line)
	}
	rel := filepath.Clean("/" + strings.Trim(arg, "'\""))
	repo := filepath.Join(s.Root, rel)
	if _, err := os.Stat(repo); err != nil {
		return nil, fmt.Errorf("no repository %s", rel)
	}
	return exec.Command(filepath.Join(gitDir, prog), repo), nil
}
