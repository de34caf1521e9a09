package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/tenant"
	"github.com/witness-media/witness/qc"
)

// The QC policy of a record comes from its business template (the
// branch's bank's here): a loan call shorter than the template's minimum
// fails; the same file on a record without a template is not failed by the
// default policy; a template whose policy no longer parses is a permanent error.
func TestQCPolicyFromTemplate(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	db := r.db
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTenant(ctx, store.System(), store.Tenant{ID: "brA", ParentID: "tenA", Name: "A branch", Level: store.LevelBranch, Whitelisted: true, Settings: tenant.Settings{}}))
	must(db.PutRecord(ctx, store.System(), store.Record{ID: "loan1", TenantID: "brA", Business: "loan", Status: "ended"}))
	must(db.PutRecord(ctx, store.System(), store.Record{ID: "bad1", TenantID: "tenA", Business: "broken", Status: "ended"}))
	must(db.PutTemplate(ctx, store.System(), store.BusinessTemplate{TenantID: "tenA", Business: "loan", Layout: "side-by-side",
		QCPolicy: "name: loan-strict\nexpect:\n  min_duration: 10s\n"}))
	must(db.PutTemplate(ctx, store.System(), store.BusinessTemplate{TenantID: "tenA", Business: "broken", Layout: "side-by-side",
		QCPolicy: "expect:\n  no_such_rule: 1\n"}))
	clip := media(t, 2)
	h := QCHandler(db, qc.DefaultPolicy(), nil)
	run := func(rec string) (QCResult, error) {
		var res QCResult
		out, err := h(ctx, Job{ID: "qc-" + rec, Kind: KindQC, TenantID: "tenA", RecordID: rec, Path: clip})
		if err == nil {
			err = json.Unmarshal(out, &res)
		}
		return res, err
	}
	loan, err := run("loan1")
	must(err)
	plain, err := run("rec1")
	must(err)
	if loan.Policy != "template tenA/loan" || plain.Policy != "default" {
		t.Errorf("policies %q and %q", loan.Policy, plain.Policy)
	}
	// (testsrc's sharp patterns give a mosaic warning under any policy.)
	if loan.Verdict != string(qc.Fail) || !strings.Contains(loan.Summary, "param.duration") ||
		plain.Verdict == string(qc.Fail) || strings.Contains(plain.Summary, "param.duration") {
		t.Errorf("verdicts: loan %s (%s), plain %s (%s)", loan.Verdict, loan.Summary, plain.Verdict, plain.Summary)
	}
	if rec, _ := db.Record(ctx, store.System(), "loan1"); rec.QCVerdict != loan.Verdict {
		t.Errorf("record verdict %q", rec.QCVerdict)
	}
	if _, err := run("bad1"); !errors.Is(err, ErrPermanent) {
		t.Errorf("unparsable template policy: %v, want ErrPermanent", err)
	}
}
