package bus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestParseSASLMechanism(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "none": "", "plain": SASLPlain, "PLAIN": SASLPlain,
		"scram-sha-256": SASLScramSHA256, "SCRAM-SHA-512": SASLScramSHA512, " scram-sha-512 ": SASLScramSHA512,
	} {
		got, err := ParseSASLMechanism(in)
		if err != nil || got != want {
			t.Errorf("ParseSASLMechanism(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"GSSAPI", "OAUTHBEARER", "scram"} {
		if _, err := ParseSASLMechanism(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "SCRAM-SHA-256") {
			t.Errorf("ParseSASLMechanism(%q): %v, want an error naming it and the accepted values", bad, err)
		}
	}
}

// testPKI writes a CA, a server certificate for 127.0.0.1 signed by it, and a client
// certificate, as PEM files in dir.
type testPKI struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gibsey test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "client.pem"), keyFile: filepath.Join(dir, "client.key")}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	cc, ck := leaf(2, x509.ExtKeyUsageClientAuth)
	write(p.certFile, cc)
	write(p.keyFile, ck)
	sc, sk := leaf(3, x509.ExtKeyUsageServerAuth)
	p.server, err = tls.X509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecurityValidate(t *testing.T) {
	pki := newTestPKI(t)
	notPEM := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)

	good := []Security{
		{},
		{TLS: true},
		{TLS: true, TLSCAFile: pki.caFile},
		{TLS: true, TLSCAFile: pki.caFile, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile},
		{TLS: true, TLSInsecureSkipVerify: true},
		{SASLMechanism: "plain", SASLUser: "u", SASLPassword: "p"},
		{TLS: true, SASLMechanism: "SCRAM-SHA-512", SASLUser: "u", SASLPassword: "p"},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%s): %v, want ok", s, err)
		}
	}
	bad := []struct {
		s    Security
		want string
	}{
		{Security{SASLMechanism: "GSSAPI", SASLUser: "u", SASLPassword: "p"}, "GSSAPI"},
		{Security{SASLMechanism: "PLAIN", SASLPassword: "p"}, "SASL user"},
		{Security{SASLMechanism: "SCRAM-SHA-256", SASLUser: "u"}, "SASL password"},
		{Security{SASLUser: "u", SASLPassword: "p"}, "no SASL mechanism"},
		{Security{TLSCAFile: pki.caFile}, "TLS is off"},
		{Security{TLSInsecureSkipVerify: true}, "TLS is off"},
		{Security{TLS: true, TLSCAFile: "/nonexistent/ca.pem"}, "CA file"},
		{Security{TLS: true, TLSCAFile: notPEM}, "no PEM certificate"},
		{Security{TLS: true, TLSCertFile: pki.certFile}, "without TLS key file"},
		{Security{TLS: true, TLSKeyFile: pki.keyFile}, "without TLS cert file"},
		{Security{TLS: true, TLSCertFile: pki.certFile, TLSKeyFile: pki.caFile}, "client certificate"},
	}
	for _, c := range bad {
		err := c.s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error mentioning %q", c.s, err, c.want)
		}
		if _, oerr := c.s.ClientOptions(); oerr == nil {
			t.Errorf("ClientOptions(%+v) built options from invalid settings", c.s)
		}
	}
	if s := (Security{TLS: true, SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "secret"}).String(); strings.Contains(s, "secret") {
		t.Errorf("String() leaks the password: %s", s)
	}
}

func TestSecurityClientOptions(t *testing.T) {
	pki := newTestPKI(t)
	for _, c := range []struct {
		s    Security
		want int
	}{
		{Security{}, 0},
		{Security{TLS: true, TLSCAFile: pki.caFile}, 1},
		{Security{SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "p"}, 1},
		{Security{TLS: true, TLSCAFile: pki.caFile, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile, SASLMechanism: "scram-sha-512", SASLUser: "u", SASLPassword: "p"}, 2},
	} {
		opts, err := c.s.ClientOptions()
		if err != nil || len(opts) != c.want {
			t.Errorf("ClientOptions(%s): %d options, %v; want %d", c.s, len(opts), err, c.want)
		}
	}
}

// TestSecurityAgainstATLSAndSASLBroker connects through TLS (private CA) and SASL SCRAM to a
// broker that requires both, and checks a wrong password is refused with a clear error.
func TestSecurityAgainstATLSAndSASLBroker(t *testing.T) {
	pki := newTestPKI(t)
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "gibsey", "s3cret"),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	sec := Security{TLS: true, TLSCAFile: pki.caFile, SASLMechanism: "scram-sha-256", SASLUser: "gibsey", SASLPassword: "s3cret"}
	b, err := Open(ctx, Config{Brokers: c.ListenAddrs(), Security: sec, ConnectTimeout: 20 * time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open over TLS+SCRAM: %v", err)
	}
	parts, err := b.TopicPartitions(ctx, "gibsey.ui.symbol")
	if err != nil || parts["gibsey.ui.symbol"] != DefaultPartitions {
		t.Errorf("topics over TLS+SCRAM: %v %v", parts, err)
	}
	b.Close()

	sec.SASLPassword = "wrong"
	_, err = Open(ctx, Config{Brokers: c.ListenAddrs(), Security: sec, ConnectTimeout: 3 * time.Second, Logger: testLogger(t)})
	// Real Kafka answers SASL_AUTHENTICATION_FAILED; kfake just drops the connection. Either
	// way Open must fail and point at the credentials it used (never the password).
	if err == nil || !strings.Contains(err.Error(), "sasl=SCRAM-SHA-256") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("Open with a wrong password: %v, want an error naming the SASL settings (without the password)", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Open with a wrong password did not give up")
	}
}
