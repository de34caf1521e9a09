package rtcmount

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/signaling"
	"github.com/witness-media/witness/watermark"
)

// roomSettings answers signaling's Config.RoomSettings: a call's room is
// its ticket, so the service record gives tenant and business, and the
// business template gives layout, watermark and analyzers. No record or
// no template: the server's settings.
func roomSettings(db *store.DB) func(room, tenant string) (signaling.RoomSettings, error) {
	return func(room, _ string) (signaling.RoomSettings, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		rec, tpl, err := db.RecordTemplate(ctx, room)
		if errors.Is(err, store.ErrNotFound) {
			return signaling.RoomSettings{}, nil // a test room, or no template for the business
		}
		if err != nil {
			return signaling.RoomSettings{}, err
		}
		set := signaling.RoomSettings{Layout: tpl.Layout, Analyzers: tpl.Analyzers}
		set.Watermarks, err = templateWatermarks(tpl.Watermark, rec)
		return set, err
	}
}

// templateWatermarks turns a template's watermark into a mark set: the
// text (with {tenant} {agent} {business} filled in) and, if asked, the
// wall-clock time stacked under it in the same corner.
func templateWatermarks(w store.TemplateWatermark, rec store.Record) (*watermark.Set, error) {
	if strings.TrimSpace(w.Text) == "" && !w.Timestamp {
		return nil, nil
	}
	pos := w.Position
	if pos == "" {
		pos = "top-right"
	}
	var op *float64
	if w.Opacity > 0 {
		op = &w.Opacity
	}
	size := w.FontSize
	if size == 0 {
		size = 24
	}
	set := &watermark.Set{}
	margin := 16
	if t := strings.TrimSpace(w.Text); t != "" {
		t = strings.NewReplacer("{tenant}", rec.TenantID, "{agent}", rec.AgentID, "{business}", rec.Business).Replace(t)
		set.Marks = append(set.Marks, watermark.Mark{Type: watermark.KindText, Text: t, Size: size, Opacity: op, Position: pos, Margin: &margin})
	}
	if w.Timestamp {
		m := margin
		if len(set.Marks) > 0 {
			m = margin + size*3/2 // under (or over, at the bottom) the text
		}
		set.Marks = append(set.Marks, watermark.Mark{Type: watermark.KindTimestamp, Size: size, Opacity: op, Position: pos, Margin: &m})
	}
	return set, set.Validate()
}
