package indextest

import (
	"testing"
	"time"

	"dewar/index"
)

// RunUsers checks index.Users.
func RunUsers(t *testing.T, newIndex NewIndex) {
	alice := index.User{AccessKey: "AKIDALICE", SecretKey: "s3cr3t/+=", Name: "Alice Ünïcode", Role: index.RoleAdmin, CreatedAt: t0}
	t.Run("CreateGet", func(t *testing.T) {
		ix := newIndex(t)
		if err := ix.CreateUser(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetUser(t.Context(), alice.AccessKey)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTime(got.CreatedAt, alice.CreatedAt) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, alice.CreatedAt)
		}
		got.CreatedAt = alice.CreatedAt
		if got != alice {
			t.Errorf("GetUser = %+v, want %+v", got, alice)
		}
	})
	t.Run("CreatedAtDefaultsToNow", func(t *testing.T) {
		ix := newIndex(t)
		u := alice
		u.CreatedAt = time.Time{}
		if err := ix.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetUser(t.Context(), u.AccessKey)
		if err != nil || time.Since(got.CreatedAt) > time.Minute || time.Since(got.CreatedAt) < -time.Minute {
			t.Errorf("GetUser = %+v, %v; want CreatedAt about now", got, err)
		}
	})
	t.Run("Conflict", func(t *testing.T) {
		ix := newIndex(t)
		if err := ix.CreateUser(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		other := alice
		other.SecretKey, other.Role = "other", index.RoleReader
		err := ix.CreateUser(t.Context(), other)
		wantErr(t, "second CreateUser", err, index.ErrUserExists)
		wantErr(t, "second CreateUser", err, index.ErrConflict)
		if got, err := ix.GetUser(t.Context(), alice.AccessKey); err != nil || got.SecretKey != alice.SecretKey {
			t.Errorf("after conflict: %+v, %v; want the first user kept", got, err)
		}
	})
	t.Run("InvalidRole", func(t *testing.T) {
		ix := newIndex(t)
		u := alice
		u.Role = "root"
		if err := ix.CreateUser(t.Context(), u); err == nil {
			t.Error("CreateUser accepted role \"root\"")
		}
		_, err := ix.GetUser(t.Context(), u.AccessKey)
		wantErr(t, "GetUser", err, index.ErrUserNotFound)
	})
	t.Run("GetMissing", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.GetUser(t.Context(), "nobody")
		wantErr(t, "GetUser", err, index.ErrUserNotFound)
		wantErr(t, "GetUser", err, index.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		ix := newIndex(t)
		for _, u := range []index.User{
			{AccessKey: "zed", Role: index.RoleReader},
			{AccessKey: "Bob", Role: index.RoleSubmitter},
			{AccessKey: "alice", Role: index.RoleAdmin},
		} {
			if err := ix.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		us, err := ix.ListUsers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range us {
			got = append(got, u.AccessKey+":"+string(u.Role))
		}
		want := []string{"Bob:submitter", "alice:admin", "zed:reader"}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("ListUsers = %q, want %q", got, want)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		ix := newIndex(t)
		if err := ix.CreateUser(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		if err := ix.DeleteUser(t.Context(), alice.AccessKey); err != nil {
			t.Fatal(err)
		}
		_, err := ix.GetUser(t.Context(), alice.AccessKey)
		wantErr(t, "GetUser after delete", err, index.ErrUserNotFound)
		err = ix.DeleteUser(t.Context(), alice.AccessKey)
		wantErr(t, "second DeleteUser", err, index.ErrUserNotFound)
		if us, err := ix.ListUsers(t.Context()); err != nil || len(us) != 0 {
			t.Errorf("ListUsers after delete = %v, %v", us, err)
		}
	})
}
