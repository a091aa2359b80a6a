package remote

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Defaults as pulumi-command v1.2.1 sets them in its schema (remote/connection.go Annotate); the
// npm SDK applies the same ones client-side (connectionArgsProvideDefaults).
const (
	defaultUser           = "root"
	defaultPort           = 22
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15
)

// endpoint holds what the target and the proxy share (remote/connection.go connectionBase).
type endpoint struct {
	User               *string  `pulumi:"user,optional"`
	Password           *string  `pulumi:"password,optional" provider:"secret"`
	Host               *string  `pulumi:"host"`
	Port               *float64 `pulumi:"port,optional"`
	PrivateKey         *string  `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string  `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string  `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int     `pulumi:"perDialTimeout,optional"`
	HostKey            *string  `pulumi:"hostKey,optional"`
}

// Connection is command:remote:Connection.
type Connection struct {
	endpoint
	Proxy *ProxyConnection `pulumi:"proxy,optional"`
}

// ProxyConnection is command:remote:ProxyConnection, the bastion (remote/proxyConnection.go).
type ProxyConnection struct {
	endpoint
}

func describeEndpoint(a infer.Annotator, e *endpoint) {
	a.Describe(&e.User, "User to log in as.")
	a.SetDefault(&e.User, defaultUser)
	a.Describe(&e.Password, "Password, tried after the private key.")
	a.Describe(&e.Host, "Address to connect to.")
	a.Describe(&e.Port, "SSH port.")
	a.SetDefault(&e.Port, defaultPort)
	a.Describe(&e.PrivateKey, "SSH private key (PEM or OpenSSH format).")
	a.Describe(&e.PrivateKeyPassword, "Passphrase of an encrypted private key.")
	a.Describe(&e.AgentSocketPath, "SSH agent socket (default: $SSH_AUTH_SOCK when set).")
	a.Describe(&e.DialErrorLimit, "Failed dials allowed before giving up; -1: no limit.")
	a.SetDefault(&e.DialErrorLimit, defaultDialErrorLimit)
	a.Describe(&e.PerDialTimeout, "Seconds each dial may take; 0: no limit.")
	a.SetDefault(&e.PerDialTimeout, defaultPerDialTimeout)
	a.Describe(&e.HostKey, "The host's public key in authorized_keys format; when unset any host key is accepted.")
}

// Annotate describes the connection in the schema.
func (c *Connection) Annotate(a infer.Annotator) {
	a.Describe(&c, "How to reach a host over SSH.")
	describeEndpoint(a, &c.endpoint)
	a.Describe(&c.Proxy, "A bastion to tunnel through.")
}

// Annotate describes the proxy in the schema.
func (c *ProxyConnection) Annotate(a infer.Annotator) {
	a.Describe(&c, "A bastion host the connection tunnels through.")
	describeEndpoint(a, &c.endpoint)
}

func (e *endpoint) address() string {
	port := defaultPort
	if e.Port != nil {
		port = int(*e.Port)
	}
	return net.JoinHostPort(*e.Host, strconv.Itoa(port))
}

func (e *endpoint) dialErrorLimit() int {
	if e.DialErrorLimit == nil {
		return defaultDialErrorLimit
	}
	return *e.DialErrorLimit
}

// clientConfig follows remote/connection.go SSHConfig: a given hostKey is the only key accepted
// (ssh.FixedHostKey, and only its algorithm is negotiated); without one any host key is accepted.
// Authentication: private key, then password (also as keyboard-interactive answers), then the agent.
func (e *endpoint) clientConfig() (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{User: defaultUser, HostKeyCallback: ssh.InsecureIgnoreHostKey()} //nolint:gosec // as upstream when no hostKey is given
	if e.User != nil {
		config.User = *e.User
	}
	timeout := defaultPerDialTimeout
	if e.PerDialTimeout != nil {
		timeout = *e.PerDialTimeout
	}
	config.Timeout = time.Duration(timeout) * time.Second
	if e.HostKey != nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*e.HostKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(key)
		config.HostKeyAlgorithms = []string{key.Type()}
	}
	if e.PrivateKey != nil {
		var signer ssh.Signer
		var err error
		if e.PrivateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*e.PrivateKey), []byte(*e.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*e.PrivateKey))
		}
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if e.Password != nil {
		password := *e.Password
		config.Auth = append(config.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := os.Getenv("SSH_AUTH_SOCK")
	if e.AgentSocketPath != nil {
		socket = *e.AgentSocketPath
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, nil
}

// withDialRetries follows remote/connection.go dialWithRetry: every failure (refused, timed out,
// wrong host key, refused authentication) is retried with the SDK's retry.Until backoff (100 ms,
// x1.5, at most 5 s) until dialErrorLimit is exceeded, i.e. limit+1 attempts; -1 retries forever.
func withDialRetries[T any](ctx context.Context, what string, limit int, dial func() (T, error)) (T, error) {
	var last error
	ok, result, err := retry.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			value, dialErr := dial()
			if dialErr == nil {
				return true, value, nil
			}
			last = dialErr
			attempts := try + 1
			if limit > -1 && attempts > limit {
				return true, nil, fmt.Errorf("after %d failed attempts: %w", try, last)
			}
			shown := "inf"
			if limit > -1 {
				shown = strconv.Itoa(limit)
			}
			p.GetLogger(ctx).InfoStatusf("%s %d/%s failed: retrying", what, attempts, shown)
			return false, nil, nil
		},
	})
	var zero T
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, ctx.Err()
	}
	return result.(T), nil
}

// dial opens the SSH client, through the proxy when there is one (remote/connection.go Dial:
// dial the proxy, then a TCP channel from it to the target, then SSH over that channel).
func (c *Connection) dial(ctx context.Context) (*ssh.Client, error) {
	config, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	target := c.address()
	limit := c.dialErrorLimit()
	if c.Proxy == nil {
		return withDialRetries(ctx, "Dial", limit, func() (*ssh.Client, error) {
			return ssh.Dial("tcp", target, config)
		})
	}
	proxyConfig, err := c.Proxy.clientConfig()
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	bastion, err := withDialRetries(ctx, "Dial proxy", c.Proxy.dialErrorLimit(), func() (*ssh.Client, error) {
		return ssh.Dial("tcp", c.Proxy.address(), proxyConfig)
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	tunnel, err := withDialRetries(ctx, "Dial from proxy", limit, func() (net.Conn, error) {
		return bastion.Dial("tcp", target)
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	type handshake struct {
		conn     ssh.Conn
		channels <-chan ssh.NewChannel
		requests <-chan *ssh.Request
	}
	h, err := withDialRetries(ctx, "Dial", limit, func() (handshake, error) {
		conn, channels, requests, err := ssh.NewClientConn(tunnel, target, config)
		return handshake{conn, channels, requests}, err
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return ssh.NewClient(h.conn, h.channels, h.requests), nil
}
