// Package auth decides who a request comes from and what they may do:
// the root credentials (from the environment, or generated once and kept in
// the data directory), the users in the index, their roles, and the single
// authorization decision (principal × action × bucket kind).
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dewar/index"
)

// Sentinel errors.
var (
	// ErrUnknownUser: no root or index user has that access key.
	ErrUnknownUser = errors.New("auth: unknown access key")
	// ErrDenied: the principal's role does not allow the action.
	ErrDenied = errors.New("auth: access denied")
)

// Principal is an authenticated caller.
type Principal struct {
	AccessKey string
	Name      string
	Role      index.Role
	Root      bool
}

// Action is what a request wants to do.
type Action int

const (
	// Read covers GET, HEAD and listings.
	Read Action = iota
	// Write covers PUT, DELETE, multipart and bucket creation/deletion.
	Write
	// Submit is a write to an incoming bucket (creates a job).
	Submit
	// EditNotes changes a job's notes or releases a held job.
	EditNotes
	// Administer covers user management.
	Administer
)

// Allowed reports whether role may perform action. Readers read; submitters
// also write ordinary and incoming buckets and edit notes; admins do
// everything. Buckets that are read-only for everyone (samples, jobs) are
// refused by the gateway before this is asked.
func Allowed(role index.Role, a Action) bool {
	switch role {
	case index.RoleAdmin:
		return true
	case index.RoleSubmitter:
		return a != Administer
	case index.RoleReader:
		return a == Read
	default:
		return false
	}
}

// Authenticator finds principals and their secrets.
type Authenticator struct {
	users index.Users
	root  index.User
}

// New returns an Authenticator over users with root as the root admin.
func New(users index.Users, root index.User) *Authenticator {
	root.Role = index.RoleAdmin
	if root.Name == "" {
		root.Name = "root"
	}
	return &Authenticator{users: users, root: root}
}

// Root returns the root admin's access key.
func (a *Authenticator) Root() string { return a.root.AccessKey }

// Lookup returns the user with accessKey (root first, then the index).
func (a *Authenticator) Lookup(ctx context.Context, accessKey string) (index.User, bool, error) {
	if accessKey == a.root.AccessKey {
		return a.root, true, nil
	}
	u, err := a.users.GetUser(ctx, accessKey)
	if errors.Is(err, index.ErrUserNotFound) {
		return index.User{}, false, fmt.Errorf("%w: %q", ErrUnknownUser, accessKey)
	}
	if err != nil {
		return index.User{}, false, err
	}
	return u, false, nil
}

// SecretKey returns the secret of accessKey for signature verification.
func (a *Authenticator) SecretKey(ctx context.Context, accessKey string) (string, error) {
	u, _, err := a.Lookup(ctx, accessKey)
	if err != nil {
		return "", err
	}
	return u.SecretKey, nil
}

// Principal returns the principal of an authenticated access key.
func (a *Authenticator) Principal(ctx context.Context, accessKey string) (Principal, error) {
	u, root, err := a.Lookup(ctx, accessKey)
	if err != nil {
		return Principal{}, err
	}
	return Principal{AccessKey: u.AccessKey, Name: u.Name, Role: u.Role, Root: root}, nil
}

// Authorize returns ErrDenied unless accessKey's role allows action.
func (a *Authenticator) Authorize(ctx context.Context, accessKey string, action Action) (Principal, error) {
	p, err := a.Principal(ctx, accessKey)
	if err != nil {
		return Principal{}, err
	}
	if !Allowed(p.Role, action) {
		return p, fmt.Errorf("%w: %s may not do this", ErrDenied, p.Role)
	}
	return p, nil
}

// RootCredentialsFile is where a generated root key pair is kept.
const RootCredentialsFile = "root-credentials"

// LoadRoot returns the root credentials: from accessKey/secretKey when
// both are set (DEWAR_ROOT_ACCESS_KEY / DEWAR_ROOT_SECRET_KEY), else from
// the file in dataDir, else newly generated and written there with mode
// 0600 — generated reports that case, so the caller prints them once.
func LoadRoot(dataDir, accessKey, secretKey string) (root index.User, generated bool, err error) {
	if accessKey != "" || secretKey != "" {
		if accessKey == "" || secretKey == "" {
			return index.User{}, false, errors.New("auth: set both DEWAR_ROOT_ACCESS_KEY and DEWAR_ROOT_SECRET_KEY, or neither")
		}
		if err := CheckKeys(accessKey, secretKey); err != nil {
			return index.User{}, false, err
		}
		return index.User{AccessKey: accessKey, SecretKey: secretKey, Name: "root", Role: index.RoleAdmin}, false, nil
	}
	path := filepath.Join(dataDir, RootCredentialsFile)
	data, err := os.ReadFile(path)
	if err == nil {
		ak, sk, perr := parseCredentials(string(data))
		if perr != nil {
			return index.User{}, false, fmt.Errorf("auth: %s: %w", path, perr)
		}
		return index.User{AccessKey: ak, SecretKey: sk, Name: "root", Role: index.RoleAdmin}, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return index.User{}, false, fmt.Errorf("auth: %w", err)
	}
	ak, sk := NewAccessKey(), NewSecretKey()
	content := fmt.Sprintf("# Dewar root credentials, generated %s\naccess_key=%s\nsecret_key=%s\n", time.Now().UTC().Format(time.RFC3339), ak, sk)
	if err := writeFileAtomic(path, []byte(content), 0o600); err != nil {
		return index.User{}, false, fmt.Errorf("auth: writing %s: %w", path, err)
	}
	return index.User{AccessKey: ak, SecretKey: sk, Name: "root", Role: index.RoleAdmin}, true, nil
}

func parseCredentials(s string) (ak, sk string, err error) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "access_key":
			ak = strings.TrimSpace(v)
		case "secret_key":
			sk = strings.TrimSpace(v)
		}
	}
	if ak == "" || sk == "" {
		return "", "", errors.New("access_key and secret_key lines required")
	}
	return ak, sk, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CheckKeys validates a key pair chosen by a person: access keys are 3-128
// characters without ':' or whitespace (SigV2 splits on ':'), secrets at
// least 8 characters.
func CheckKeys(accessKey, secretKey string) error {
	if len(accessKey) < 3 || len(accessKey) > 128 || strings.ContainsAny(accessKey, ": \t\r\n/") {
		return errors.New("auth: access key must be 3-128 characters without ':', '/' or whitespace")
	}
	if len(secretKey) < 8 {
		return errors.New("auth: secret key must be at least 8 characters")
	}
	return nil
}

const (
	accessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// NewAccessKey returns a random 20-character access key, AWS-shaped.
func NewAccessKey() string { return "DW" + randomString(accessKeyAlphabet, 18) }

// NewSecretKey returns a random 40-character secret.
func NewSecretKey() string { return randomString(secretKeyAlphabet, 40) }

func randomString(alphabet string, n int) string {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("auth: no randomness: " + err.Error())
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}
