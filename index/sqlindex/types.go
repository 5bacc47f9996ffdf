package sqlindex

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// timeLayout is how times are stored: UTC, milliseconds, fixed width, so
// the text sorts in time order and both SQLite's date functions and
// PostgreSQL's timestamptz input read it.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Precision is the resolution times are stored with.
const Precision = time.Millisecond

// dbTime stores a time.Time as timeLayout text and scans text or a
// driver's native time.
type dbTime struct{ t *time.Time }

func (d dbTime) Value() (driver.Value, error) {
	return d.t.UTC().Truncate(Precision).Format(timeLayout), nil
}

func (d dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = v.UTC()
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("sqlindex: cannot scan %T into a time", src)
	}
}

func (d dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlindex: stored time %q: %w", s, err)
	}
	*d.t = t.UTC()
	return nil
}

// tm adapts t for a bind parameter or a Scan destination.
func tm(t *time.Time) dbTime { return dbTime{t} }

// dbJSON stores a value as JSON text and scans JSON text back into it.
type dbJSON struct{ v any }

func (j dbJSON) Value() (driver.Value, error) {
	b, err := json.Marshal(j.v)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: encode JSON: %w", err)
	}
	return string(b), nil
}

func (j dbJSON) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlindex: cannot scan %T as JSON", src)
	}
	if err := json.Unmarshal(b, j.v); err != nil {
		return fmt.Errorf("sqlindex: stored JSON: %w", err)
	}
	return nil
}

func js(v any) dbJSON { return dbJSON{v} }
