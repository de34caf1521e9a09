package gst

// #cgo pkg-config: gstreamer-1.0 gstreamer-controller-1.0
// #include <gst/gst.h>
// #include <gst/controller/gstinterpolationcontrolsource.h>
// #include <gst/controller/gstdirectcontrolbinding.h>
//
// /* witness_schedule binds prop of obj to an interpolation control source
//  * holding n (time, value) points, with absolute values (the property takes
//  * the value as given, not a 0..1 fraction of its range).
//  * 1 no such property, 2 not controllable, 3 binding refused. */
// static int witness_schedule(gpointer obj, const char *prop, int mode,
//                             const guint64 *times, const gdouble *values, int n) {
//   GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(obj), prop);
//   if (ps == NULL) return 1;
//   if (!(ps->flags & GST_PARAM_CONTROLLABLE)) return 2;
//   GstControlSource *cs = gst_interpolation_control_source_new();
//   g_object_set(cs, "mode", mode, NULL);
//   for (int i = 0; i < n; i++)
//     gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), times[i], values[i]);
//   GstControlBinding *b = gst_direct_control_binding_new_absolute(GST_OBJECT(obj), prop, cs);
//   gst_object_unref(cs);
//   if (b == NULL) return 3;
//   if (!gst_object_add_control_binding(GST_OBJECT(obj), b)) return 3;
//   return 0;
// }
import "C"

import (
	"fmt"
	"sort"
	"time"
	"unsafe"
)

// Interpolation says how a scheduled property moves between keyframes.
type Interpolation int

// Interpolation modes (GstInterpolationMode values).
const (
	// Step holds each value until the next keyframe: a switch at an exact
	// media time (e.g. a layout change in an offline mix).
	Step Interpolation = 0
	// Linear moves the value evenly between keyframes (e.g. a drifting
	// watermark).
	Linear Interpolation = 1
)

// Keyframe is one control point: from stream time At the property is Value
// (or moving towards the next keyframe, with Linear).
type Keyframe struct {
	At    time.Duration
	Value float64
}

// Schedule makes a controllable property of an element (pad == "") or of
// one of its pads follow keyframes in MEDIA time. The element applies the
// values itself as each buffer passes (gst_object_sync_values), so the change
// is frame-accurate however fast the pipeline runs and no Go code runs on a
// streaming thread. Call it while building, before Start. A later call for
// the same property replaces the earlier schedule.
func (p *Pipeline) Schedule(element, pad, prop string, mode Interpolation, keys []Keyframe) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: %s.%s: no keyframes", ErrProperty, element, prop)
	}
	var obj unsafe.Pointer
	what := element
	if pad == "" {
		e, err := p.element(element)
		if err != nil {
			return err
		}
		obj = e.Unsafe()
	} else {
		gp, err := p.pad(element, pad)
		if err != nil {
			return err
		}
		obj = gp.Unsafe()
		what += "." + pad
	}
	ks := append([]Keyframe(nil), keys...)
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].At < ks[j].At })
	times := make([]C.guint64, len(ks))
	values := make([]C.gdouble, len(ks))
	for i, k := range ks {
		if k.At < 0 {
			return fmt.Errorf("%w: %s.%s: keyframe at negative time %v", ErrProperty, what, prop, k.At)
		}
		times[i] = C.guint64(k.At)
		values[i] = C.gdouble(k.Value)
	}
	cprop := C.CString(prop)
	defer C.free(unsafe.Pointer(cprop))
	switch C.witness_schedule(C.gpointer(obj), cprop, C.int(mode), &times[0], &values[0], C.int(len(ks))) {
	case 1:
		return fmt.Errorf("%w: %s has no property %q", ErrProperty, what, prop)
	case 2:
		return fmt.Errorf("%w: %s property %q is not controllable", ErrProperty, what, prop)
	case 3:
		return fmt.Errorf("%w: %s property %q: control binding refused", ErrProperty, what, prop)
	}
	return nil
}
