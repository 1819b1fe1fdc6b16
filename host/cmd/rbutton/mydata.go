package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// cmdData shows what a site returned, every return kept, with what changed.
func cmdData(args []string) int {
	fs := newFlags("data")
	asJSON := fs.Bool("json", false, "")
	last := fs.Int("last", 0, "")
	if !parseFlags(fs, args) {
		return 2
	}
	if fs.NArg() != 1 {
		errorf("data: need one SITE")
		return 2
	}
	var kd agent.KeptData
	if err := call(proto.TypeDataGet, agent.DataGetParams{Site: fs.Arg(0), Last: *last}, &kd); err != nil {
		return exitErr(err)
	}
	if *asJSON {
		printJSON(kd)
		return 0
	}
	if kd.Total == 0 {
		fmt.Printf("%s has returned no data yet\n", kd.Site)
		return 0
	}
	for _, r := range kd.Returns {
		fmt.Printf("return %d  received %s  under record %s  (%s, %d item(s))\n", r.Seq, r.Received.Local().Format(time.DateTime), r.Record, viaWords(r.Via), len(r.Items))
		if r.Changes == nil {
			for _, it := range r.Items {
				fmt.Printf("    %s\n", itemLine(it))
			}
			continue
		}
		fmt.Printf("  since the previous return: %d new, %d gone, %d unchanged\n", len(r.Changes.Added), len(r.Changes.Removed), r.Changes.Unchanged)
		for _, it := range r.Changes.Added {
			fmt.Printf("  + %s\n", itemLine(it))
		}
		for _, it := range r.Changes.Removed {
			fmt.Printf("  - %s\n", itemLine(it))
		}
	}
	return 0
}

func viaWords(via string) string {
	if via == agent.ViaBrowser {
		return "asked from the browser"
	}
	return "asked by rbutton"
}

func itemLine(it policy.DataItem) string {
	keys := make([]string, 0, len(it.Data))
	for k := range it.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + it.Data[k]
	}
	return strings.TrimSpace(fmt.Sprintf("%s  %-12s %s", it.Time.Local().Format(time.DateTime), it.Type, strings.Join(parts, " ")))
}

// cmdRecords lists every record the relationship with a site ever had, or
// prints one of them.
func cmdRecords(args []string) int {
	fs := newFlags("records")
	asJSON := fs.Bool("json", false, "")
	if !parseFlags(fs, args) {
		return 2
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		errorf("records: need SITE [RECORD-ID]")
		return 2
	}
	var res agent.RecordsResult
	if err := call(proto.TypeRecordsGet, proto.SiteParams{Site: fs.Arg(0)}, &res); err != nil {
		return exitErr(err)
	}
	if fs.NArg() == 2 {
		for _, r := range res.Records {
			if r.Record.ID == fs.Arg(1) {
				printJSON(r.Record)
				return 0
			}
		}
		return exitErr(fmt.Errorf("no record %s kept for %s", fs.Arg(1), res.Site))
	}
	if *asJSON {
		printJSON(res)
		return 0
	}
	if len(res.Records) == 0 {
		fmt.Printf("no records kept for %s\n", res.Site)
		return 0
	}
	for _, r := range res.Records {
		state := "replaced or ended"
		if r.InForce {
			state = "in force"
		}
		check := "verifies"
		if !r.Verified {
			check = "DOES NOT VERIFY: " + r.Problem
		}
		a := r.Record.Agreement
		offer := a.Offer
		if offer == "" {
			offer = "(own terms)"
		}
		fmt.Printf("%s  %s  offer %s  %s; %s\n", r.Record.ID, a.Created.Local().Format(time.DateTime), offer, state, check)
	}
	return 0
}

// cmdVerify checks every kept record and history chain offline.
func cmdVerify(args []string) int {
	fs := newFlags("verify")
	asJSON := fs.Bool("json", false, "")
	if !parseFlags(fs, args) {
		return 2
	}
	if fs.NArg() > 1 {
		errorf("verify: takes at most one SITE")
		return 2
	}
	site := ""
	if fs.NArg() == 1 {
		var err error
		if site, err = policy.ParseOrigin(fs.Arg(0)); err != nil {
			return exitErr(err)
		}
	}
	db, err := openDB()
	if err != nil {
		return exitErr(err)
	}
	checks, err := agent.Verify(db, site)
	if err != nil {
		return exitErr(err)
	}
	if *asJSON {
		printJSON(checks)
	}
	failed := 0
	for _, c := range checks {
		if !c.OK() {
			failed++
		}
		if *asJSON {
			continue
		}
		if site != "" && len(c.Records) == 0 && c.Events == 0 && c.Returns == 0 {
			return exitErr(fmt.Errorf("nothing stored about %s", site))
		}
		bad := 0
		for _, r := range c.Records {
			if r.Problem != "" {
				bad++
			}
		}
		fmt.Printf("%s:\n", c.Site)
		switch {
		case len(c.Records) == 0:
			fmt.Printf("  no records\n")
		case bad == 0:
			fmt.Printf("  %d record(s): every id and both signatures verify\n", len(c.Records))
		default:
			fmt.Printf("  %d record(s): %d do NOT verify\n", len(c.Records), bad)
		}
		if c.Chain == "" {
			fmt.Printf("  history: %d event(s), hash chain verifies\n", c.Events)
		}
		if c.Returns > 0 {
			fmt.Printf("  %d data return(s) kept\n", c.Returns)
		}
		for _, p := range c.Problems {
			fmt.Printf("  FAILS: %s\n", p)
		}
		for _, n := range c.Notes {
			fmt.Printf("  note: %s\n", n)
		}
	}
	if *asJSON {
		if failed > 0 {
			return 1
		}
		return 0
	}
	switch {
	case len(checks) == 0:
		fmt.Println("nothing to verify")
	case failed == 0:
		fmt.Printf("everything verifies (%d site(s))\n", len(checks))
	default:
		fmt.Printf("%d of %d site(s) do NOT verify\n", failed, len(checks))
		return 1
	}
	return 0
}

// cmdProfile shows and changes the user's details.
func cmdProfile(args []string) int {
	sub := "show"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlags("profile " + sub)
	asJSON := fs.Bool("json", false, "")
	noPush := fs.Bool("no-push", false, "")
	file := fs.String("file", "", "")
	all := fs.Bool("all", false, "")
	if !parseFlags(fs, args) {
		return 2
	}
	switch sub {
	case "show":
		if fs.NArg() != 0 {
			errorf("profile show: takes no arguments")
			return 2
		}
		var v agent.ProfileView
		if err := call(proto.TypeProfileGet, struct{}{}, &v); err != nil {
			return exitErr(err)
		}
		if *asJSON {
			printJSON(v)
			return 0
		}
		showProfile(v)
	case "set":
		var d policy.Details
		if *file != "" {
			b, err := readInput(*file)
			if err != nil {
				return exitErr(err)
			}
			p, err := agent.ParseDetails(b)
			if err != nil {
				return exitErr(err)
			}
			d = *p
		} else {
			if fs.NArg() == 0 {
				errorf("profile set: need FIELD=VALUE... or --file FILE")
				return 2
			}
			var cur agent.ProfileView
			if err := call(proto.TypeProfileGet, struct{}{}, &cur); err != nil {
				return exitErr(err)
			}
			d = cur.Details
			for _, kv := range fs.Args() {
				if err := setDetail(&d, kv); err != nil {
					return exitErr(err)
				}
			}
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return exitErr(err)
		}
		var v agent.ProfileView
		if err := call(proto.TypeProfileSet, proto.ProfileSetParams{Details: raw}, &v); err != nil {
			return exitErr(err)
		}
		fmt.Println("your details are updated")
		if v.Pending == 0 {
			fmt.Println("no site holds a changed detail")
			return 0
		}
		if *noPush {
			fmt.Printf("%d site(s) are owed the update; run 'rbutton profile push'\n", v.Pending)
			return 0
		}
		return push(false)
	case "share":
		if fs.NArg() < 1 {
			errorf("profile share: need SITE [FIELD...]")
			return 2
		}
		var v agent.ShareView
		if err := call(proto.TypeProfileShare, proto.ProfileShareParams{Site: fs.Arg(0), Fields: fs.Args()[1:]}, &v); err != nil {
			return exitErr(err)
		}
		if *asJSON {
			printJSON(v)
			return 0
		}
		fmt.Printf("%s now holds: %s\n", v.Site, holdsWords(v.Holds))
	case "default":
		if fs.NArg() > 1 {
			errorf("profile default: takes at most one of %s", strings.Join(agent.OnAgreeChoices, ", "))
			return 2
		}
		var v agent.ProfileView
		if fs.NArg() == 0 {
			if err := call(proto.TypeProfileGet, struct{}{}, &v); err != nil {
				return exitErr(err)
			}
		} else {
			if !slices.Contains(agent.OnAgreeChoices, fs.Arg(0)) {
				errorf("profile default: unknown choice %q (want %s)", fs.Arg(0), strings.Join(agent.OnAgreeChoices, ", "))
				return 2
			}
			if err := call(proto.TypeProfileDefault, proto.ProfileDefaultParams{OnAgree: fs.Arg(0)}, &v); err != nil {
				return exitErr(err)
			}
		}
		if *asJSON {
			printJSON(map[string]string{"onAgree": v.OnAgree, "onAgreeWords": v.OnAgreeWords})
			return 0
		}
		fmt.Printf("when agreeing: %s\n%s\n", v.OnAgree, v.OnAgreeWords)
	case "push":
		if fs.NArg() != 0 {
			errorf("profile push: takes no arguments")
			return 2
		}
		return push(*all)
	default:
		errorf("profile: unknown subcommand %q (want show, set, share, default or push)", sub)
		return 2
	}
	return 0
}

// setDetail applies one FIELD=VALUE to d: name, email, address, phone, or
// pref.KEY for a preference. An empty VALUE clears the detail.
func setDetail(d *policy.Details, kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("profile set: %q is not FIELD=VALUE", kv)
	}
	switch {
	case k == policy.DetailName:
		d.Name = v
	case k == policy.DetailEmail:
		d.Email = v
	case k == policy.DetailAddress:
		d.Address = strings.ReplaceAll(v, `\n`, "\n")
	case k == policy.DetailPhone:
		d.Phone = v
	case strings.HasPrefix(k, "pref."):
		name := strings.TrimPrefix(k, "pref.")
		if d.Preferences == nil {
			d.Preferences = map[string]string{}
		}
		if v == "" {
			delete(d.Preferences, name)
		} else {
			d.Preferences[name] = v
		}
	default:
		return fmt.Errorf("profile set: unknown field %q (want name, email, address, phone or pref.KEY)", k)
	}
	return nil
}

func holdsWords(h map[string]time.Time) string {
	if len(h) == 0 {
		return "none of your details"
	}
	var parts []string
	for _, f := range policy.DetailFields {
		if t, ok := h[f]; ok {
			parts = append(parts, fmt.Sprintf("%s (since %s)", f, t.Local().Format(time.DateTime)))
		}
	}
	return strings.Join(parts, ", ")
}

func showProfile(v agent.ProfileView) {
	if v.Updated == nil {
		fmt.Println("no details yet; set them with 'rbutton profile set email=you@example.org'")
	} else {
		for _, f := range policy.DetailFields {
			val := v.Details.Get(f)
			if val == "" {
				val = "-"
			}
			fmt.Printf("%-12s %s\n", f+":", strings.ReplaceAll(val, "\n", "\n             "))
		}
	}
	fmt.Printf("when agreeing: %s (%s)\n", v.OnAgree, v.OnAgreeWords)
	for _, s := range v.Sites {
		line := fmt.Sprintf("%s holds %s", s.Site, holdsWords(s.Holds))
		if len(s.Allowed) > 0 {
			line += "; may hold " + strings.Join(s.Allowed, ", ")
		} else if !s.InForce {
			line += "; no agreement in force"
		}
		if s.Pending != nil {
			line += fmt.Sprintf("; owed an update since %s", s.Pending.Since.Local().Format(time.DateTime))
			if s.Pending.LastError != "" {
				line += fmt.Sprintf(" (%d attempt(s), next %s: %s)", s.Pending.Attempts, s.Pending.Next.Local().Format(time.DateTime), s.Pending.LastError)
			}
		}
		if s.LastRefusal != "" {
			line += "; last update refused: " + s.LastRefusal
		}
		fmt.Println(line)
	}
}

// push sends every owed update, printing progress to stderr as it goes.
func push(all bool) int {
	a, err := newAgent()
	if err != nil {
		return exitErr(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := a.Push(ctx, agent.PushOptions{All: all, Progress: func(p agent.PushProgress) {
		fmt.Fprintf(os.Stderr, "rbutton: pushed to %d of %d site(s), %d delivered\n", p.Done, p.Total, p.Delivered)
	}})
	if err != nil && res == nil {
		return exitErr(err)
	}
	sites := slices.Clone(res.Sites)
	sort.Slice(sites, func(i, j int) bool { return sites[i].Site < sites[j].Site })
	for _, s := range sites {
		line := fmt.Sprintf("%-10s %s", s.Outcome, s.Site)
		if len(s.Fields) > 0 {
			line += " (" + strings.Join(s.Fields, ", ") + ")"
		}
		if s.Error != nil && s.Error.Message != "" {
			line += ": " + s.Error.Message
		}
		if s.Next != nil {
			line += "; next try after " + s.Next.Local().Format(time.DateTime)
		}
		fmt.Println(line)
	}
	fmt.Println(res.Summary())
	if err != nil {
		return exitErr(err)
	}
	if res.Refused > 0 || res.Retrying > 0 || res.Waiting > 0 {
		return 1
	}
	return 0
}

// export27560 prints the agreements as ISO/IEC TS 27560 consent records.
func export27560() int {
	db, err := openDB()
	if err != nil {
		return exitErr(err)
	}
	doc, err := agent.Export27560(db, time.Now())
	if err != nil {
		return exitErr(err)
	}
	printJSON(doc)
	return 0
}

// importMine writes what the user keeps from an export.
func importMine(tx *store.Tx, ex *agent.Export) error {
	for site, rs := range ex.Records {
		for _, r := range rs {
			if err := tx.PutRecord(site, r.Record, r.Stored); err != nil {
				return err
			}
		}
	}
	for site, rs := range ex.Returns {
		if err := tx.ReplaceReturns(site, rs); err != nil {
			return err
		}
	}
	if ex.Profile != nil {
		if err := tx.PutProfile(*ex.Profile); err != nil {
			return err
		}
	}
	for site, s := range ex.Shares {
		if err := tx.PutShare(site, s); err != nil {
			return err
		}
	}
	return nil
}

// checkMine checks what the user keeps in an export: every record verifies
// and is for its site, every data return and the profile are valid.
func checkMine(ex *agent.Export) error {
	for site, rs := range ex.Records {
		if c, err := policy.ParseOrigin(site); err != nil || c != site {
			return fmt.Errorf("records for invalid site %q", site)
		}
		for i, r := range rs {
			if err := policy.VerifyRecord(r.Record); err != nil {
				return fmt.Errorf("records[%s][%d]: %v", site, i, err)
			}
			if r.Record.Agreement.Site != site {
				return fmt.Errorf("records[%s][%d]: the record is for %s", site, i, r.Record.Agreement.Site)
			}
		}
	}
	for site, rs := range ex.Returns {
		if c, err := policy.ParseOrigin(site); err != nil || c != site {
			return fmt.Errorf("returns for invalid site %q", site)
		}
		for i, r := range rs {
			if err := r.Return.Validate(); err != nil {
				return fmt.Errorf("returns[%s][%d]: %v", site, i, err)
			}
		}
	}
	if ex.Profile != nil {
		if err := ex.Profile.Details.Validate(); err != nil {
			return fmt.Errorf("profile: %v", err)
		}
	}
	for site := range ex.Shares {
		if c, err := policy.ParseOrigin(site); err != nil || c != site {
			return fmt.Errorf("shares for invalid site %q", site)
		}
	}
	return nil
}
