package plist

import (
	"reflect"
	"sort"
	"strings"
	"sync"
)

// field is one dict key of a struct type.
type field struct {
	name      string
	index     []int // path through embedded structs
	typ       reflect.Type
	omitEmpty bool
	tagged    bool // the name came from a tag
}

// structFields are the keys of a struct type, in field order for encoding
// and by name for decoding.
type structFields struct {
	list   []field
	byName map[string]*field
}

// fieldCache maps reflect.Type to *structFields. Entries are computed from
// the type alone, so the cache holds no state that could differ between
// calls.
var fieldCache sync.Map

func cachedFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.(*structFields)
}

// parseTag splits a `plist:"Key,omitempty"` tag.
func parseTag(tag string) (name string, omitEmpty bool) {
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == "omitempty" {
			omitEmpty = true
		}
	}
	return name, omitEmpty
}

// typeFields lists the keys of t with the rules of encoding/json: fields of
// embedded structs are promoted; among fields with the same name the
// shallowest wins, then a tagged one; a tie hides them all.
func typeFields(t reflect.Type) *structFields {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var found []field
	current := []level{{typ: t}}
	visited := map[reflect.Type]bool{}
	for len(current) > 0 {
		var next []level
		for _, lv := range current {
			// A type met at a shallower level is hidden by it; one met
			// twice at this level makes its fields ambiguous below.
			if visited[lv.typ] {
				continue
			}
			for i := 0; i < lv.typ.NumField(); i++ {
				sf := lv.typ.Field(i)
				tag := sf.Tag.Get("plist")
				if tag == "-" {
					continue
				}
				ft := sf.Type
				if sf.Anonymous {
					isPtr := ft.Kind() == reflect.Pointer
					if isPtr {
						ft = ft.Elem()
					}
					// An unexported embedded pointer cannot be allocated,
					// and an unexported non-struct has nothing to promote.
					if !sf.IsExported() && (isPtr || ft.Kind() != reflect.Struct) {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				name, omit := parseTag(tag)
				index := make([]int, len(lv.index)+1)
				copy(index, lv.index)
				index[len(lv.index)] = i
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct && ft != timeType {
					next = append(next, level{typ: ft, index: index})
					continue
				}
				f := field{name: name, index: index, typ: sf.Type, omitEmpty: omit, tagged: name != ""}
				if f.name == "" {
					f.name = sf.Name
				}
				found = append(found, f)
			}
		}
		for _, lv := range current {
			visited[lv.typ] = true
		}
		current = next
	}

	// Group by name; within a name the shallowest, then tagged, wins.
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if len(a.index) != len(b.index) {
			return len(a.index) < len(b.index)
		}
		return a.tagged && !b.tagged
	})
	var kept []field
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].name == found[i].name {
			j++
		}
		group := found[i:j]
		if len(group) == 1 || len(group[0].index) < len(group[1].index) ||
			(group[0].tagged && !group[1].tagged) {
			kept = append(kept, group[0])
		}
		i = j
	}
	sort.Slice(kept, func(i, j int) bool {
		a, b := kept[i].index, kept[j].index
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	sf := &structFields{list: kept, byName: make(map[string]*field, len(kept))}
	for i := range sf.list {
		sf.byName[sf.list[i].name] = &sf.list[i]
	}
	return sf
}
