package rtcmount

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/tenant"
	"github.com/witness-media/witness/watermark"
)

// A call's room takes its business template (the bank's, for a call in a
// branch): layout, analyzers, and the watermark text with the call's
// fields filled in and the time stacked under it. A room without a record
// or a business without a template keeps the server's settings.
func TestRoomSettingsFromTemplate(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTenant(ctx, store.System(), store.Tenant{ID: "prov", Name: "Province", Level: store.LevelProvince, Whitelisted: true, Settings: tenant.Settings{}}))
	must(db.CreateTenant(ctx, store.System(), store.Tenant{ID: "bank1", ParentID: "prov", Name: "Bank", Level: store.LevelBank, Whitelisted: true, Settings: tenant.Settings{}}))
	must(db.CreateTenant(ctx, store.System(), store.Tenant{ID: "br1", ParentID: "bank1", Name: "Branch", Level: store.LevelBranch, Whitelisted: true, Settings: tenant.Settings{}}))
	must(db.PutRecord(ctx, store.System(), store.Record{ID: "T1", TenantID: "br1", Business: "loan", AgentID: "u-a1", Status: "in_call"}))
	must(db.PutRecord(ctx, store.System(), store.Record{ID: "T2", TenantID: "br1", Business: "open", Status: "in_call"}))
	must(db.PutTemplate(ctx, store.System(), store.BusinessTemplate{TenantID: "bank1", Business: "loan", Layout: "pip", Analyzers: []string{"face", "light"},
		Watermark: store.TemplateWatermark{Text: "{tenant} {business} {agent}", Position: "bottom-left", Timestamp: true, Opacity: 0.5}}))
	get := roomSettings(db)
	set, err := get("T1", "br1")
	must(err)
	if set.Layout != "pip" || len(set.Analyzers) != 2 || set.Watermarks == nil || len(set.Watermarks.Marks) != 2 {
		t.Fatalf("settings %+v", set)
	}
	txt, ts := set.Watermarks.Marks[0], set.Watermarks.Marks[1]
	if txt.Type != watermark.KindText || txt.Text != "br1 loan u-a1" || txt.Position != "bottom-left" || *txt.Opacity != 0.5 ||
		ts.Type != watermark.KindTimestamp || *ts.Margin <= *txt.Margin {
		t.Errorf("watermarks %+v %+v", txt, ts)
	}
	for _, room := range []string{"T2", "test-room"} {
		if set, err := get(room, "br1"); err != nil || set.Layout != "" || set.Watermarks != nil || set.Analyzers != nil {
			t.Errorf("%s: %+v %v, want the server's settings", room, set, err)
		}
	}
}
