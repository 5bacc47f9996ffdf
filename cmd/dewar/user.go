package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"dewar/gateway/auth"
	"dewar/index"
)

// runUser manages users directly in the index (it works beside a running
// server: the index is shared).
func runUser(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: dewar user add NAME [--role admin|submitter|reader] [--access-key K --secret-key S] | list | remove ACCESS_KEY")
	}
	sub, args := args[0], args[1:]
	var st storageFlags
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	st.register(fs)
	role := fs.String("role", "submitter", "role: admin, submitter or reader")
	ak := fs.String("access-key", "", "access key (generated when empty)")
	sk := fs.String("secret-key", "", "secret key (generated when empty)")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	_, idx, err := st.open()
	if err != nil {
		return err
	}
	defer idx.Close()
	switch sub {
	case "add":
		if fs.NArg() != 1 {
			return errors.New("usage: dewar user add NAME [--role R]")
		}
		u := index.User{Name: fs.Arg(0), Role: index.Role(*role), AccessKey: *ak, SecretKey: *sk, CreatedAt: time.Now().UTC()}
		if !u.Role.Valid() {
			return fmt.Errorf("unknown role %q", *role)
		}
		if u.AccessKey == "" {
			u.AccessKey = auth.NewAccessKey()
		}
		if u.SecretKey == "" {
			u.SecretKey = auth.NewSecretKey()
		}
		if err := auth.CheckKeys(u.AccessKey, u.SecretKey); err != nil {
			return err
		}
		if err := idx.CreateUser(ctx, u); err != nil {
			return err
		}
		fmt.Printf("added %s (%s)\n  access key: %s\n  secret key: %s\n", u.Name, u.Role, u.AccessKey, u.SecretKey)
	case "list":
		users, err := idx.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCESS KEY\tNAME\tROLE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.AccessKey, u.Name, u.Role, u.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "remove":
		if fs.NArg() != 1 {
			return errors.New("usage: dewar user remove ACCESS_KEY")
		}
		if err := idx.DeleteUser(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Printf("removed %s\n", fs.Arg(0))
	default:
		return fmt.Errorf("unknown user command %q (add, list, remove)", sub)
	}
	return nil
}

// reorder moves flags before positional arguments, so "user add alice
// --role reader" works as people type it (package flag stops at the first
// positional argument).
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && len(args[i+1]) > 0 && args[i+1][0] != '-' {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
