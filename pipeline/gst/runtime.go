package gst

// #cgo pkg-config: gstreamer-1.0
// #include <gst/gst.h>
//
// /* witness_set_arg parses value with GStreamer's own deserialiser for the
//  * property's type (ints, doubles, enum nicks, booleans, strings) and sets it.
//  * Unlike gst_util_set_object_arg it reports failure instead of only logging:
//  * 1 no such property, 2 not writable, 3 value does not parse. */
// static int witness_set_arg(gpointer obj, const char *name, const char *value) {
//   GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(obj), name);
//   if (ps == NULL) return 1;
//   if (!(ps->flags & G_PARAM_WRITABLE)) return 2;
//   GValue v = G_VALUE_INIT;
//   g_value_init(&v, ps->value_type);
//   if (!gst_value_deserialize(&v, value)) { g_value_unset(&v); return 3; }
//   g_object_set_property(G_OBJECT(obj), name, &v);
//   g_value_unset(&v);
//   return 0;
// }
import "C"

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// ErrProperty reports a property that does not exist, is read-only, or
// cannot take the given value.
var ErrProperty = errors.New("cannot set gstreamer property")

// Prop is one property assignment for SetProperties and SetPadProperties.
// Value may be a Go number, bool or string; it is converted with GStreamer's
// own parser for the property's type, so enums can be given by nick
// ("keep-aspect-ratio") as in gst-launch.
type Prop struct {
	Name  string
	Value any
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case bool:
		return strconv.FormatBool(x)
	case time.Duration:
		return strconv.FormatInt(int64(x), 10)
	}
	return fmt.Sprint(v)
}

func setArgs(obj unsafe.Pointer, what string, props []Prop) error {
	for _, pr := range props {
		cname := C.CString(pr.Name)
		cval := C.CString(formatValue(pr.Value))
		rc := C.witness_set_arg(C.gpointer(obj), cname, cval)
		C.free(unsafe.Pointer(cname))
		C.free(unsafe.Pointer(cval))
		switch rc {
		case 1:
			return fmt.Errorf("%w: %s has no property %q", ErrProperty, what, pr.Name)
		case 2:
			return fmt.Errorf("%w: %s property %q is read-only", ErrProperty, what, pr.Name)
		case 3:
			return fmt.Errorf("%w: %s property %q: bad value %q", ErrProperty, what, pr.Name, formatValue(pr.Value))
		}
	}
	return nil
}

// SetProperties sets properties of the element called element (searched
// recursively, so elements inside added Bins are found). It is meant for the
// goroutine that owns the pipeline, before or while it runs: GStreamer
// elements take property locks, so this is safe against streaming threads,
// and it never runs on one. Properties are set in order; the first failure
// stops and is returned.
func (p *Pipeline) SetProperties(element string, props ...Prop) error {
	e, err := p.element(element)
	if err != nil {
		return err
	}
	return setArgs(e.Unsafe(), element, props)
}

// SetPadProperties sets properties of an existing pad (for example a
// compositor request pad "sink_0", to move or resize a picture while
// recording). Pad properties such as compositor's xpos, ypos, width, height,
// zorder and alpha are read by the aggregator for each output frame, so a set
// of changes made here lands between two frames; callers that need several
// pads to change together should accept that one frame may show a mix.
func (p *Pipeline) SetPadProperties(element, pad string, props ...Prop) error {
	gp, err := p.pad(element, pad)
	if err != nil {
		return err
	}
	return setArgs(gp.Unsafe(), element+"."+pad, props)
}

func (p *Pipeline) pad(element, pad string) (*gst.Pad, error) {
	e, err := p.element(element)
	if err != nil {
		return nil, err
	}
	gp := e.GetStaticPad(pad)
	if gp == nil {
		return nil, fmt.Errorf("%w: pad %s.%s in %s", ErrNoElement, element, pad, p.name)
	}
	return gp, nil
}

// Position reports the media position of the named element (or of the whole
// pipeline when element is ""): how far the stream has got, used for progress
// and ETA. ok is false before data flows or when the element cannot answer.
func (p *Pipeline) Position(element string) (pos time.Duration, ok bool) {
	var e *gst.Element
	if element == "" {
		e = p.p.Element
	} else {
		el, err := p.element(element)
		if err != nil {
			return 0, false
		}
		e = el
	}
	good, ns := e.QueryPosition(gst.FormatTime)
	if !good || ns < 0 {
		return 0, false
	}
	return time.Duration(ns), true
}
