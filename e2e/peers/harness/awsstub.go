package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The provisioner builds its AWS client at start even with every supervisor
// off: it reads the account alias (the cloud environment name is its third
// dash-separated part) and finds Route53 zones by their MattermostCloudDNS tag.
// Its AWS SDK ignores endpoint overrides, so the stub is an HTTPS proxy: the
// provisioner gets HTTPS_PROXY pointing here and AWS_CA_BUNDLE pointing at the
// stub's own CA, and every CONNECT is terminated with a certificate for the
// requested host signed by that CA.

type hostedZone struct {
	id, name string
	private  bool
}

type awsStub struct {
	logger *slog.Logger
	alias  string
	zones  []hostedZone

	ca    *x509.Certificate
	caKey crypto.Signer

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func runAWSStub(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("awsstub", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write ca.pem and addr (the proxy's host:port) into")
	listen := fs.String("listen", "127.0.0.1:0", "proxy listen address")
	env := fs.String("env", "e2e", "cloud environment name (account alias mattermost-cloud-<env>)")
	publicDomain := fs.String("public-domain", "e2e.envwick.test", "domain of the public hosted zone")
	privateDomain := fs.String("private-domain", "internal.e2e.envwick.test", "domain of the private hosted zone")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if strings.Contains(*env, "-") || *env == "" {
		return fmt.Errorf("environment name %q must be non-empty without dashes", *env)
	}

	stub, err := newAWSStub(logger, *env, []hostedZone{
		{id: "ZENVWICKPRIVATE", name: *privateDomain, private: true},
		{id: "ZENVWICKPUBLIC", name: *publicDomain},
	})
	if err != nil {
		return err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: stub.ca.Raw})
	if err := writeFileAtomic(filepath.Join(*dir, "ca.pem"), caPEM); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	tunnels := newConnListener(ln.Addr())
	api := &http.Server{Handler: stub, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	proxy := &http.Server{Handler: stub.proxyHandler(tunnels), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- api.Serve(tunnels) }()
	go func() { errc <- proxy.Serve(ln) }()
	// The address file is written last: its presence means the proxy is ready.
	if err := writeFileAtomic(filepath.Join(*dir, "addr"), []byte(ln.Addr().String()+"\n")); err != nil {
		return err
	}
	logger.Info("AWS stub proxy listening", "addr", ln.Addr().String(), "alias", stub.alias)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	proxy.Shutdown(shutdownCtx)
	api.Shutdown(shutdownCtx)
	tunnels.Close()
	return nil
}

func newAWSStub(logger *slog.Logger, env string, zones []hostedZone) (*awsStub, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "envwick e2e AWS stub CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	return &awsStub{
		logger: logger,
		alias:  "mattermost-cloud-" + env,
		zones:  zones,
		ca:     ca,
		caKey:  key,
		certs:  map[string]*tls.Certificate{},
	}, nil
}

// certificate returns a leaf certificate for host, signed by the stub CA;
// leaves are made on first use, one per host name the client asks for (SNI).
func (s *awsStub) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if host == "" {
		return nil, errors.New("client sent no server name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.certs[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for %s: %w", host, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, key.Public(), s.caKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %s: %w", host, err)
	}
	c := &tls.Certificate{Certificate: [][]byte{der, s.ca.Raw}, PrivateKey: key}
	s.certs[host] = c
	return c, nil
}

// proxyHandler accepts CONNECT tunnels, terminates TLS in them and hands the
// decrypted connections to the stub's API server through tunnels.
func (s *awsStub) proxyHandler(tunnels *connListener) http.Handler {
	tlsConfig := &tls.Config{GetCertificate: s.certificate, NextProtos: []string{"http/1.1"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			// A plain-HTTP proxy request (absolute URL): answer it directly.
			s.ServeHTTP(w, r)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "hijacking not supported", http.StatusInternalServerError)
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			s.logger.Warn("hijacking CONNECT", "host", r.Host, "err", err)
			return
		}
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
			conn.Close()
			return
		}
		if buf.Reader.Buffered() > 0 {
			// The client spoke before our 200: not a TLS client we can serve.
			conn.Close()
			return
		}
		s.logger.Info("tunnel", "host", r.Host)
		if err := tunnels.push(tls.Server(conn, tlsConfig)); err != nil {
			conn.Close()
		}
	})
}

// ServeHTTP answers the AWS API calls the provisioner makes at start. Anything
// else gets an AWS-shaped error and is logged, so a new call shows up plainly
// in the stub's log.
func (s *awsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	service, _, _ := strings.Cut(host, ".")
	switch service {
	case "iam":
		s.iam(w, r)
	case "sts":
		s.sts(w, r)
	case "route53":
		s.route53(w, r)
	default:
		s.fail(w, r, http.StatusBadRequest, "InvalidAction", "the e2e AWS stub does not serve "+host)
	}
}

const (
	iamNS     = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS     = "https://sts.amazonaws.com/doc/2011-06-15/"
	route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"
)

func (s *awsStub) iam(w http.ResponseWriter, r *http.Request) {
	switch action := r.Form.Get("Action"); action {
	case "ListAccountAliases":
		s.reply(w, r, fmt.Sprintf(`<ListAccountAliasesResponse xmlns="%s"><ListAccountAliasesResult>`+
			`<IsTruncated>false</IsTruncated><AccountAliases><member>%s</member></AccountAliases>`+
			`</ListAccountAliasesResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>`+
			`</ListAccountAliasesResponse>`, iamNS, xmlText(s.alias), requestID()))
	default:
		s.fail(w, r, http.StatusBadRequest, "InvalidAction", "the e2e AWS stub does not serve IAM "+action)
	}
}

func (s *awsStub) sts(w http.ResponseWriter, r *http.Request) {
	switch action := r.Form.Get("Action"); action {
	case "GetCallerIdentity":
		s.reply(w, r, fmt.Sprintf(`<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::000000000000:user/envwick-e2e</Arn><UserId>AIDAENVWICKE2E</UserId>`+
			`<Account>000000000000</Account></GetCallerIdentityResult>`+
			`<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
			stsNS, requestID()))
	default:
		s.fail(w, r, http.StatusBadRequest, "InvalidAction", "the e2e AWS stub does not serve STS "+action)
	}
}

func (s *awsStub) route53(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	switch {
	case r.Method == http.MethodGet && path == "hostedzone":
		var b strings.Builder
		for _, z := range s.zones {
			b.WriteString(zoneXML(z))
		}
		s.reply(w, r, fmt.Sprintf(`<ListHostedZonesResponse xmlns="%s"><HostedZones>%s</HostedZones>`+
			`<IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesResponse>`, route53NS, b.String()))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "hostedzone/"):
		z, ok := s.zone(strings.TrimPrefix(path, "hostedzone/"))
		if !ok {
			s.fail(w, r, http.StatusNotFound, "NoSuchHostedZone", "no hosted zone "+path)
			return
		}
		s.reply(w, r, fmt.Sprintf(`<GetHostedZoneResponse xmlns="%s">%s<DelegationSet><NameServers>`+
			`<NameServer>ns.%s</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`,
			route53NS, zoneXML(z), xmlText(z.name)))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "tags/hostedzone/"):
		z, ok := s.zone(strings.TrimPrefix(path, "tags/hostedzone/"))
		if !ok {
			s.fail(w, r, http.StatusNotFound, "NoSuchHostedZone", "no hosted zone "+path)
			return
		}
		value := "public"
		if z.private {
			value = "private"
		}
		s.reply(w, r, fmt.Sprintf(`<ListTagsForResourceResponse xmlns="%s"><ResourceTagSet>`+
			`<ResourceType>hostedzone</ResourceType><ResourceId>%s</ResourceId><Tags>`+
			`<Tag><Key>MattermostCloudDNS</Key><Value>%s</Value></Tag></Tags></ResourceTagSet>`+
			`</ListTagsForResourceResponse>`, route53NS, xmlText(z.id), value))
	default:
		s.fail(w, r, http.StatusBadRequest, "InvalidInput", "the e2e AWS stub does not serve Route53 "+r.Method+" "+r.URL.Path)
	}
}

func (s *awsStub) zone(id string) (hostedZone, bool) {
	for _, z := range s.zones {
		if z.id == id {
			return z, true
		}
	}
	return hostedZone{}, false
}

func zoneXML(z hostedZone) string {
	return fmt.Sprintf(`<HostedZone><Id>/hostedzone/%s</Id><Name>%s.</Name><CallerReference>envwick-e2e</CallerReference>`+
		`<Config><PrivateZone>%t</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>`,
		xmlText(z.id), xmlText(z.name), z.private)
}

func (s *awsStub) reply(w http.ResponseWriter, r *http.Request, body string) {
	s.logger.Info("aws call", "host", r.Host, "method", r.Method, "path", r.URL.Path, "action", r.Form.Get("Action"), "status", http.StatusOK)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID())
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+body)
}

func (s *awsStub) fail(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.logger.Warn("aws call not served", "host", r.Host, "method", r.Method, "path", r.URL.Path, "action", r.Form.Get("Action"), "status", status)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		xmlText(code), xmlText(message), requestID())
}

// connListener is a net.Listener fed with connections from CONNECT tunnels.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) error {
	select {
	case l.conns <- c:
		return nil
	case <-l.done:
		return net.ErrClosed
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
