package gst

// #cgo pkg-config: gstreamer-1.0
// #include <stdlib.h>
// #include <string.h>
// #include <gst/gst.h>
//
// /* A wall clock drawn by a textoverlay: start + the buffer's running time,
//  * formatted like timeoverlay's show-times-as-dates (g_date_time_format),
//  * but the "text" property is set only when the formatted string changes,
//  * so the overlay renders its text (Pango/Cairo) once per second instead
//  * of on every frame. Runs on the streaming thread, in C: no Go there. */
// typedef struct {
//   GObject *overlay; /* not reffed: the probe lives on its own pad */
//   GDateTime *start;
//   gchar *format;
//   gchar *last;
// } witness_clock;
//
// static void witness_clock_free(gpointer p) {
//   witness_clock *c = p;
//   g_date_time_unref(c->start);
//   g_free(c->format);
//   g_free(c->last);
//   g_free(c);
// }
//
// static GstPadProbeReturn witness_clock_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
//   witness_clock *c = data;
//   GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
//   if (buf == NULL || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
//   GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
//   if (ev == NULL) return GST_PAD_PROBE_OK;
//   const GstSegment *seg;
//   gst_event_parse_segment(ev, &seg);
//   guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
//   gst_event_unref(ev);
//   if (rt == GST_CLOCK_TIME_NONE) return GST_PAD_PROBE_OK;
//   GDateTime *t = g_date_time_add(c->start, (GTimeSpan)(rt / GST_USECOND));
//   gchar *s = t ? g_date_time_format(t, c->format) : NULL;
//   if (t) g_date_time_unref(t);
//   if (s == NULL) return GST_PAD_PROBE_OK;
//   if (c->last != NULL && strcmp(s, c->last) == 0) {
//     g_free(s);
//     return GST_PAD_PROBE_OK;
//   }
//   g_object_set(c->overlay, "text", s, NULL);
//   g_free(c->last);
//   c->last = s;
//   return GST_PAD_PROBE_OK;
// }
//
// /* 0 ok, 1 not a text overlay, 2 no video_sink pad, 3 bad format */
// static int witness_clock_attach(gpointer obj, gint64 unix_us, const char *format) {
//   if (g_object_class_find_property(G_OBJECT_GET_CLASS(obj), "text") == NULL) return 1;
//   GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(obj), "video_sink");
//   if (pad == NULL) return 2;
//   GDateTime *start = g_date_time_new_from_unix_utc(unix_us / G_USEC_PER_SEC);
//   GDateTime *t = start ? g_date_time_add(start, unix_us % G_USEC_PER_SEC) : NULL;
//   if (start) g_date_time_unref(start);
//   gchar *probe = t ? g_date_time_format(t, format) : NULL;
//   if (probe == NULL) {
//     if (t) g_date_time_unref(t);
//     gst_object_unref(pad);
//     return 3;
//   }
//   g_free(probe);
//   witness_clock *c = g_new0(witness_clock, 1);
//   c->overlay = obj;
//   c->start = t;
//   c->format = g_strdup(format);
//   gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, witness_clock_probe, c, witness_clock_free);
//   gst_object_unref(pad);
//   return 0;
// }
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// ClockText makes the named textoverlay show a wall clock: start plus the
// running time of each video buffer, formatted with GLib's
// g_date_time_format (strftime-like: %Y-%m-%d %H:%M:%S) in UTC — give start
// with the wanted zone's wall-clock fields labelled UTC. It draws what
// timeoverlay's show-times-as-dates draws, but the text is set (and so
// rendered by Pango) only when the formatted string changes: once a second
// for a seconds format, instead of every frame. Call it while building,
// before Start.
func (p *Pipeline) ClockText(element string, start time.Time, format string) error {
	e, err := p.element(element)
	if err != nil {
		return err
	}
	cf := C.CString(format)
	defer C.free(unsafe.Pointer(cf))
	switch C.witness_clock_attach(C.gpointer(e.Unsafe()), C.gint64(start.UnixMicro()), cf) {
	case 1:
		return fmt.Errorf("%w: %s has no text property", ErrProperty, element)
	case 2:
		return fmt.Errorf("%w: %s has no video_sink pad", ErrProperty, element)
	case 3:
		return fmt.Errorf("%w: %s: clock format %q", ErrProperty, element, format)
	}
	return nil
}
