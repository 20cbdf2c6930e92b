package targetsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// TLSOptions says how an HTTPS simulator presents itself.
type TLSOptions struct {
	// Hosts are names or IP addresses the leaf certificate covers besides 127.0.0.1, ::1 and
	// localhost (e.g. a compose service name).
	Hosts []string
	// HTTP1Only offers only http/1.1 by ALPN. By default h2 is offered first, as Target's
	// edges do, so Go clients negotiate HTTP/2.
	HTTP1Only bool
}

// TLS is an HTTPS identity made at start and kept in memory: a throwaway ECDSA P-256 CA and a
// leaf it signed. Clients trust the simulator through CAPEM (written out as a file for other
// processes) or CertPool.
type TLS struct {
	caPEM  []byte
	pool   *x509.CertPool
	server *tls.Config
}

// NewTLS makes a fresh CA and leaf for o. Nothing is written to disk.
func NewTLS(o TLSOptions) (*TLS, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("targetsim test CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "targetsim test CA"},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock skew between processes
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("targetsim test CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("targetsim test CA: %w", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("targetsim leaf key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "targetsim"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else if h != "" {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("targetsim leaf certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	protos := []string{"h2", "http/1.1"}
	if o.HTTP1Only {
		protos = []string{"http/1.1"}
	}
	return &TLS{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:  pool,
		server: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
			NextProtos:   protos,
		},
	}, nil
}

// serial is a random 128-bit certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)) // crypto/rand does not fail on Linux
	return n
}

// CAPEM is the CA certificate in PEM, for a client's trust store (target.tls.caFile).
func (t *TLS) CAPEM() []byte { return append([]byte(nil), t.caPEM...) }

// CertPool is a pool holding only the CA, for Go clients in the same process.
func (t *TLS) CertPool() *x509.CertPool { return t.pool.Clone() }

// ServerConfig is the server side: the leaf and the ALPN protocols offered. Set it as an
// httptest.Server's TLS before StartTLS, or use Listener.
func (t *TLS) ServerConfig() *tls.Config { return t.server.Clone() }

// HTTP2 reports whether h2 is offered.
func (t *TLS) HTTP2() bool { return t.server.NextProtos[0] == "h2" }

// Listener wraps ln so that an http.Server serving it speaks HTTPS; http.Server.Serve
// answers h2 on the connections that negotiated it.
func (t *TLS) Listener(ln net.Listener) net.Listener { return tls.NewListener(ln, t.ServerConfig()) }
