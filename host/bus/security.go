package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms a real cluster may require.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Security holds what a secured Kafka cluster needs: TLS (optionally with a private CA and a
// client certificate) and SASL authentication (PLAIN or SCRAM). The zero value is a plaintext,
// unauthenticated connection, which is what the embedded broker and a local test Kafka use.
type Security struct {
	// TLS turns on TLS for every broker connection.
	TLS bool
	// TLSCAFile is a PEM file of CA certificates to trust instead of the system pool.
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and key (mutual TLS); both or neither.
	TLSCertFile, TLSKeyFile string
	// TLSInsecureSkipVerify skips verification of the brokers' certificates (testing only).
	TLSInsecureSkipVerify bool
	// SASLMechanism is "" (no SASL), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	// SASLUser and SASLPassword are the SASL credentials.
	SASLUser, SASLPassword string
}

// ParseSASLMechanism normalises a SASL mechanism name as given on a flag or in the
// environment: case does not matter, "" and "none" mean no SASL. It returns one of "",
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or an error naming the accepted values.
func ParseSASLMechanism(s string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "NONE":
		return "", nil
	case SASLPlain:
		return SASLPlain, nil
	case SASLScramSHA256, "SCRAM-SHA256", "SCRAM_SHA_256":
		return SASLScramSHA256, nil
	case SASLScramSHA512, "SCRAM-SHA512", "SCRAM_SHA_512":
		return SASLScramSHA512, nil
	}
	return "", fmt.Errorf("kafka SASL mechanism %q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (or leave empty for none)", s)
}

// Validate checks the settings without connecting: the SASL mechanism is known and has a
// user and password, TLS files exist and parse, a client certificate comes with its key, and
// no TLS setting is given while TLS is off. Errors name the offending field.
func (s Security) Validate() error {
	var errs []error
	mech, err := ParseSASLMechanism(s.SASLMechanism)
	if err != nil {
		errs = append(errs, err)
	}
	if mech != "" {
		if s.SASLUser == "" {
			errs = append(errs, fmt.Errorf("kafka SASL user is required with SASL mechanism %s", mech))
		}
		if s.SASLPassword == "" {
			errs = append(errs, fmt.Errorf("kafka SASL password is required with SASL mechanism %s", mech))
		}
	} else if err == nil && (s.SASLUser != "" || s.SASLPassword != "") {
		errs = append(errs, errors.New("kafka SASL user/password given but no SASL mechanism: set the mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"))
	}
	if !s.TLS {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"TLS CA file", s.TLSCAFile != ""},
			{"TLS cert file", s.TLSCertFile != ""},
			{"TLS key file", s.TLSKeyFile != ""},
			{"TLS insecure-skip-verify", s.TLSInsecureSkipVerify},
		} {
			if f.set {
				errs = append(errs, fmt.Errorf("kafka %s is set but TLS is off: enable TLS", f.name))
			}
		}
	} else if _, err := s.tlsConfig(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tlsConfig loads the TLS files into a client configuration.
func (s Security) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.TLSInsecureSkipVerify} //nolint:gosec // opt-in, documented as testing only
	if s.TLSCAFile != "" {
		pem, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka TLS CA file %s: no PEM certificate found", s.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile != "":
		pair, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS client certificate %s / key %s: %w", s.TLSCertFile, s.TLSKeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case s.TLSCertFile != "":
		return nil, errors.New("kafka TLS cert file given without TLS key file: give both or neither")
	case s.TLSKeyFile != "":
		return nil, errors.New("kafka TLS key file given without TLS cert file: give both or neither")
	}
	return cfg, nil
}

// ClientOptions validates the settings and returns the franz-go options that apply them
// (a TLS dialer and a SASL mechanism); none for the zero value.
func (s Security) ClientOptions() ([]kgo.Opt, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if s.TLS {
		cfg, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	mech, _ := ParseSASLMechanism(s.SASLMechanism)
	switch mech {
	case SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsMechanism()))
	case SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha256Mechanism()))
	case SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha512Mechanism()))
	}
	return opts, nil
}

// String describes the settings without secrets, for logs.
func (s Security) String() string {
	mech, _ := ParseSASLMechanism(s.SASLMechanism)
	parts := []string{"tls=off"}
	if s.TLS {
		parts[0] = "tls=on"
		if s.TLSInsecureSkipVerify {
			parts = append(parts, "tls-verify=off")
		}
	}
	if mech == "" {
		parts = append(parts, "sasl=none")
	} else {
		parts = append(parts, "sasl="+mech, "user="+s.SASLUser)
	}
	return strings.Join(parts, " ")
}
