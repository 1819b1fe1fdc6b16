package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/install"
	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

const usage = `Usage:
    rbutton install [--browser NAME]... [--extension-id ID] [--firefox-id ID]
                    [--user-data-dir DIR] [--path EXE] [--dry-run]
    rbutton uninstall [--browser NAME]... [--user-data-dir DIR] [--dry-run]
    rbutton doctor [--json]
    rbutton list [--json]
    rbutton show [--json] SITE
    rbutton history [--json] SITE
    rbutton terms [show [--json] | set FILE]
    rbutton forget SITE
    rbutton compact
    rbutton data [--json] [--last N] SITE
    rbutton records [--json] SITE [RECORD-ID]
    rbutton verify [--json] [SITE]
    rbutton profile [show [--json]]
    rbutton profile set [--no-push] FIELD=VALUE... | --file FILE
    rbutton profile share [--json] SITE [FIELD...]
    rbutton profile default [--json] [ask | email | allowed]
    rbutton profile push [--all]
    rbutton export [--format rbutton|27560] > FILE
    rbutton import FILE
    rbutton version

rbutton keeps your DNT-D agreements with the sites you visit. The r-button
browser extension starts it as a native-messaging host; this command line
shows and manages the same data.

list and show include the sites you only proffered a MyTerms agreement to
(state "proffered": a record signed by you alone; such sites sign nothing).

Browsers: chrome, chromium, brave, edge, vivaldi, firefox. Without --browser,
install registers with every browser whose profile directory exists.

Examples:
    $ rbutton install
    $ rbutton install --browser chromium --user-data-dir /tmp/profile
    $ rbutton list
    $ rbutton show https://shop.example
    $ rbutton terms set my-terms.json
    $ rbutton export > agreements.json
    $ rbutton export --format 27560 > consent-records.json
    $ rbutton verify
    $ rbutton profile set email=me@example.org
    $ rbutton profile share https://shop.example email

Details: name, email, address, phone, pref.KEY (e.g. pref.language=en). A
site receives a detail only when you share it and its agreement allows it;
when you change one, every site holding it is sent the update.

Files: the database is $RBUTTON_DB (default: <config dir>/rbutton/rbutton.db);
the log is $RBUTTON_LOG (default: <cache dir>/rbutton/rbutton.log).
`

func errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "rbutton: "+format+"\n", args...)
}

// exitErr prints err as one lowercase line and returns the exit code.
func exitErr(err error) int {
	var pe *proto.Error
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = pe.Message
	} else if advice := store.Advice(err); advice != "" {
		msg += "; " + advice
	}
	if msg != "" {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	errorf("%s", strings.TrimSuffix(strings.ReplaceAll(msg, "\n", " "), "."))
	return 1
}

func cli(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return 0
	case "version", "--version":
		fmt.Printf("rbutton %s (protocol %d)\n", proto.Version, proto.Protocol)
		return 0
	case "install":
		return cmdInstall(rest, false)
	case "uninstall":
		return cmdInstall(rest, true)
	case "doctor":
		return cmdDoctor(rest)
	case "list", "show", "history", "export":
		return cmdQuery(cmd, rest)
	case "data":
		return cmdData(rest)
	case "records":
		return cmdRecords(rest)
	case "verify":
		return cmdVerify(rest)
	case "profile":
		return cmdProfile(rest)
	case "terms":
		return cmdTerms(rest)
	case "forget":
		return cmdForget(rest)
	case "compact":
		return cmdCompact(rest)
	case "import":
		return cmdImport(rest)
	}
	errorf("unknown command %q; run 'rbutton help'", cmd)
	return 2
}

type multi []string

func (m *multi) String() string { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*m = append(*m, v)
		}
	}
	return nil
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) bool {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usage)
		} else {
			errorf("%s: %v", fs.Name(), err)
		}
		return false
	}
	return true
}

func selfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Abs(exe)
}

func cmdInstall(args []string, remove bool) int {
	name := "install"
	if remove {
		name = "uninstall"
	}
	fs := newFlags(name)
	var browsers multi
	fs.Var(&browsers, "browser", "")
	extID := fs.String("extension-id", install.DefaultExtensionID, "")
	ffID := fs.String("firefox-id", install.DefaultFirefoxID, "")
	udd := fs.String("user-data-dir", "", "")
	path := fs.String("path", "", "")
	dry := fs.Bool("dry-run", false, "")
	asJSON := fs.Bool("json", false, "")
	if !parseFlags(fs, args) {
		return 2
	}
	if fs.NArg() > 0 {
		errorf("%s: unexpected argument %q", name, fs.Arg(0))
		return 2
	}
	exe := *path
	if exe == "" {
		var err error
		if exe, err = selfPath(); err != nil {
			return exitErr(fmt.Errorf("locating this binary: %w", err))
		}
	}
	opts := install.Options{Exe: exe, ExtensionID: *extID, FirefoxID: *ffID, Browsers: browsers, UserDataDir: *udd, DryRun: *dry}
	var res []install.Result
	var err error
	if remove {
		res, err = install.Uninstall(opts)
	} else {
		res, err = install.Install(opts)
	}
	if *asJSON {
		printJSON(res)
	} else {
		for _, r := range res {
			fmt.Printf("%-9s %s: %s\n", r.Browser, r.Status, r.Manifest)
		}
	}
	if err != nil {
		return exitErr(err)
	}
	if len(res) == 0 && !remove {
		// Nothing was installed: saying so and exiting 0 would leave a
		// script, or a person, believing r-button works.
		errorf("install: no browser profile found, so nothing was installed; name the browser: --browser %s (or --user-data-dir DIR for a Chromium profile elsewhere)",
			strings.Join(install.BrowserNames, "|"))
		return 1
	}
	return 0
}

func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func newAgent() (*agent.Agent, error) {
	db, err := openDB()
	if err != nil {
		return nil, err
	}
	log := openLog()
	return &agent.Agent{DB: db, Client: &negotiate.Client{}, Log: log}, nil
}

// call runs one protocol request in-process, exactly as the host would.
func call(typ string, params any, dst any) error {
	a, err := newAgent()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	res, perr := a.Handle(context.Background(), proto.Request{ID: "cli", Type: typ, Params: raw})
	if perr != nil {
		return perr
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

func cmdQuery(cmd string, args []string) int {
	fs := newFlags(cmd)
	asJSON := fs.Bool("json", false, "")
	format := fs.String("format", "rbutton", "")
	if !parseFlags(fs, args) {
		return 2
	}
	if *format != "rbutton" && (cmd != "export" || *format != "27560") {
		errorf("%s: unknown format %q (want rbutton or 27560)", cmd, *format)
		return 2
	}
	needSite := cmd == "show" || cmd == "history"
	if needSite && fs.NArg() != 1 || !needSite && fs.NArg() != 0 {
		errorf("%s: wrong number of arguments; run 'rbutton help'", cmd)
		return 2
	}
	switch cmd {
	case "list":
		var list []agent.Summary
		if err := call(proto.TypeRelationshipList, struct{}{}, &list); err != nil {
			return exitErr(err)
		}
		// Sites the user only proffered MyTerms agreements to have no
		// relationship, and are listed all the same (state "proffered").
		only, err := profferOnlySites(list)
		if err != nil {
			return exitErr(err)
		}
		for _, p := range only {
			list = append(list, p.summary())
		}
		if *asJSON {
			printJSON(list)
			return 0
		}
		if len(list) == 0 {
			fmt.Println("no relationships yet")
			return 0
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SITE\tSTATE\tOFFER\tCONTROLLER\tUPDATED")
		for _, s := range list {
			offer := s.Offer
			if offer == "" && s.State == store.StateAgreed {
				offer = "(own terms)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Site, s.State, dash(offer), dash(s.Controller), s.Updated.Local().Format(time.DateTime))
		}
		tw.Flush()
	case "show":
		var rel *store.Relationship
		site, err := siteArg(fs.Arg(0))
		if err != nil {
			return exitErr(err)
		}
		if err := call(proto.TypeRelationshipGet, proto.SiteParams{Site: site}, &rel); err != nil {
			return exitErr(err)
		}
		proffers, err := sitesProffers(site)
		if err != nil {
			return exitErr(err)
		}
		if rel == nil && len(proffers) == 0 {
			return exitErr(fmt.Errorf("no relationship with %s", site))
		}
		if rel == nil {
			// Only MyTerms proffers: a one-sided record, no relationship.
			p := profferOnly{Site: site, Proffers: proffers}
			if *asJSON {
				printJSON(p.json())
				return 0
			}
			p.show()
			return 0
		}
		var h agent.HistoryResult
		if err := call(proto.TypeHistoryGet, proto.SiteParams{Site: site}, &h); err != nil {
			return exitErr(err)
		}
		recordID := ""
		if rel.State == store.StateAgreed && rel.Record != nil {
			recordID = rel.Record.ID
		}
		count := countCompliance(h.Events, recordID)
		if *asJSON {
			printJSON(shownRelationship{Relationship: rel, Compliance: count})
			return 0
		}
		showRelationship(rel)
		showTermsChanges(h.Events)
		showCompliance(count, site)
		for _, pr := range proffers {
			fmt.Printf("proffered:  %s\n", profferWords(pr))
		}
	case "history":
		var h agent.HistoryResult
		site, err := siteArg(fs.Arg(0))
		if err != nil {
			return exitErr(err)
		}
		if err := call(proto.TypeHistoryGet, proto.SiteParams{Site: site}, &h); err != nil {
			return exitErr(err)
		}
		if *asJSON {
			printJSON(h)
			return 0
		}
		for _, e := range h.Events {
			if len(e.Changes) == 0 {
				fmt.Printf("%3d  %s  %-13s %s\n", e.Seq, e.Time.Local().Format(time.DateTime), e.Type, e.Detail)
				continue
			}
			// What changed in the site's terms, one change a line: the
			// words of the detail, as the popup lists them.
			fmt.Printf("%3d  %s  %s\n", e.Seq, e.Time.Local().Format(time.DateTime), e.Type)
			for _, c := range e.Changes {
				fmt.Printf("       %s\n", c.Words())
			}
		}
		switch {
		case len(h.Events) == 0:
			fmt.Println("no history")
		case h.Verified:
			fmt.Printf("hash chain verified (%d events)\n", len(h.Events))
		default:
			fmt.Printf("hash chain does NOT verify: %s\n", h.Problem)
			return 1
		}
	case "export":
		if *format == "27560" {
			return export27560()
		}
		var ex json.RawMessage
		if err := call(proto.TypeExport, struct{}{}, &ex); err != nil {
			return exitErr(err)
		}
		printJSON(ex)
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func showRelationship(r *store.Relationship) {
	fmt.Printf("site:       %s\n", r.Site)
	fmt.Printf("state:      %s\n", r.State)
	if r.SiteTerms != nil {
		fmt.Printf("controller: %s <%s>\n", r.SiteTerms.Controller.Name, r.SiteTerms.Controller.Contact)
		fmt.Printf("policy:     %s\n", r.SiteTerms.Policy)
	}
	fmt.Printf("since:      %s\n", r.Since.Local().Format(time.DateTime))
	fmt.Printf("updated:    %s\n", r.Updated.Local().Format(time.DateTime))
	terms := "defaults"
	if r.Exception {
		terms = "exception for this site"
	}
	fmt.Printf("your terms: %s\n", terms)
	if r.Offer != nil {
		fmt.Printf("offer:      %s %s\n", r.Offer.ID, r.Offer.Summary)
	}
	if r.Record != nil {
		a := r.Record.Agreement
		fmt.Printf("record:     %s (signatures verified: %v)\n", r.Record.ID, r.Verified)
		fmt.Printf("agreed:     tracking %s; purposes %s; sharing %s; retention %s; identity %s; contact %s\n",
			a.Terms.Tracking, joinPurposes(a.Terms.Purposes), a.Terms.Sharing, a.Terms.Retention, a.Terms.Identity, a.Terms.Contact)
		fmt.Printf("site owes:  access %s; deletion %s; data return %s\n", a.Obligations.Access, a.Obligations.Deletion, a.Obligations.DataReturn)
	}
	for _, c := range r.Conflicts {
		fmt.Printf("conflict:   offer %s: %s needs %s, you allow %s\n", c.Offer, c.Dimension, c.Needs, c.Allows)
	}
	if r.Error != nil {
		fmt.Printf("site error: %s: %s\n", r.Error.Code, r.Error.Message)
	}
}

// showTermsChanges prints what the site changed in its terms the last time
// it changed them, one change a line, in the words of the history.
func showTermsChanges(events []policy.Event) {
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Type != policy.EventTermsChanged || len(e.Changes) == 0 {
			continue
		}
		fmt.Printf("changed:    %s, the site's terms (the latest change):\n", e.Time.Local().Format(time.DateTime))
		for _, c := range e.Changes {
			fmt.Printf("            %s\n", c.Words())
		}
		return
	}
}

func joinPurposes(ps []policy.Purpose) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func cmdTerms(args []string) int {
	sub := "show"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlags("terms " + sub)
	asJSON := fs.Bool("json", false, "")
	if !parseFlags(fs, args) {
		return 2
	}
	switch sub {
	case "show":
		var res agent.TermsResult
		if err := call(proto.TypeTermsGet, struct{}{}, &res); err != nil {
			return exitErr(err)
		}
		if *asJSON {
			printJSON(res.Defaults)
			return 0
		}
		t, o := res.Defaults.Terms, res.Defaults.Obligations
		fmt.Printf("preset:     %s\n", dash(res.Defaults.Preset))
		fmt.Printf("you allow:  tracking up to %s; purposes %s; sharing up to %s; retention up to %s; identity up to %s; contact up to %s\n",
			t.Tracking, joinPurposes(t.Purposes), t.Sharing, t.Retention, t.Identity, t.Contact)
		fmt.Printf("you require: access %s; deletion %s; data return %s\n", o.Access, o.Deletion, o.DataReturn)
	case "set":
		if fs.NArg() != 1 {
			errorf("terms set: need one FILE (or - for stdin)")
			return 2
		}
		b, err := readInput(fs.Arg(0))
		if err != nil {
			return exitErr(err)
		}
		if problems := checkTermsFile(b); len(problems) > 0 {
			name := fs.Arg(0)
			if name == "-" {
				name = "<stdin>"
			}
			for _, p := range problems {
				errorf("%s:%s", name, p)
			}
			errorf("terms set: %d problem(s) in %s; your terms are unchanged", len(problems), name)
			return 1
		}
		var res agent.TermsSetResult
		if err := call(proto.TypeTermsSet, proto.TermsSetParams{Terms: b}, &res); err != nil {
			return exitErr(err)
		}
		fmt.Println("default terms updated")
		printWithdrawn(res.Withdrawn)
	default:
		errorf("terms: unknown subcommand %q (want show or set)", sub)
		return 2
	}
	return 0
}

// printWithdrawn says, one line each, which agreements a change of the
// user's terms withdrew and whether their sites confirmed the end.
func printWithdrawn(list []agent.Withdrawn) {
	for _, w := range list {
		if w.Ended {
			fmt.Printf("withdrew the agreement with %s (no longer within your terms); the site confirmed the end\n", w.Site)
		} else {
			fmt.Printf("withdrew the agreement with %s (no longer within your terms); the site was not told (%s: %s)\n", w.Site, w.Error.Code, w.Error.Message)
		}
	}
}

func readInput(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 64<<20 {
		return nil, fmt.Errorf("%s is larger than 64 MiB", name)
	}
	return b, nil
}

func cmdForget(args []string) int {
	if len(args) != 1 {
		errorf("forget: need one SITE")
		return 2
	}
	site, err := siteArg(args[0])
	if err != nil {
		return exitErr(err)
	}
	a, err := newAgent()
	if err != nil {
		return exitErr(err)
	}
	// The agreement in force is ended with the site first: once the key is
	// deleted, nobody can end it any more.
	w, found, err := a.Forget(context.Background(), site)
	if err != nil {
		return exitErr(err)
	}
	if !found {
		return exitErr(fmt.Errorf("nothing stored about %s", site))
	}
	switch {
	case w == nil:
	case w.Ended:
		fmt.Printf("ended the agreement with %s; the site confirmed\n", site)
	default:
		fmt.Printf("ended the agreement with %s here; the site was not told (%s: %s)\n", site, w.Error.Code, w.Error.Message)
	}
	u, _ := url.Parse(site)
	lines, lerr := scrubLog(u.Host)
	// Deleted values stay in bbolt's free pages until the file is rewritten.
	res, err := a.DB.Compact()
	if err != nil {
		errorf("forgot %s, but its bytes may remain in the file until it is compacted: %v; run 'rbutton compact'", site, err)
		return 1
	}
	if lerr != nil {
		errorf("forgot %s and compacted %s, but could not remove it from the log %s: %v", site, a.DB.Path, logPath(), lerr)
		return 1
	}
	fmt.Printf("forgot %s; compacted %s (%s → %s) and removed %d line(s) naming it from the log, so nothing of it remains on disk\n",
		site, a.DB.Path, sizeOf(res.Before), sizeOf(res.After), lines)
	return 0
}

// siteArg reads a site as a person types it: "shop.example" is
// https://shop.example, "127.0.0.1:8441" and "localhost:8080" are http (the
// protocol allows plain http only to loopback hosts); a full origin or URL
// is taken as it is.
func siteArg(s string) (string, error) {
	if !strings.Contains(s, "://") {
		host := s
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		scheme := "https://"
		if h, _, err := net.SplitHostPort(host); err == nil {
			if policy.IsLoopbackHost(h) {
				scheme = "http://"
			}
		} else if policy.IsLoopbackHost(strings.Trim(host, "[]")) {
			scheme = "http://"
		}
		s = scheme + host
	}
	// A pasted address: its origin.
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" && u.User == nil {
		s = u.Scheme + "://" + u.Host
	}
	site, err := policy.ParseOrigin(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a site: %v", s, err)
	}
	return site, nil
}

// cmdCompact rewrites the database without free pages: smaller, and with
// no trace of deleted data.
func cmdCompact(args []string) int {
	if len(args) != 0 {
		errorf("compact: takes no arguments")
		return 2
	}
	db, err := openDB()
	if err != nil {
		return exitErr(err)
	}
	if _, err := os.Stat(db.Path); err != nil {
		return exitErr(fmt.Errorf("no database at %s", db.Path))
	}
	res, err := db.Compact()
	if err != nil {
		return exitErr(err)
	}
	fmt.Printf("compacted %s (%s → %s)\n", db.Path, sizeOf(res.Before), sizeOf(res.After))
	return 0
}

func sizeOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// cmdImport loads an export. Everything is checked first; then it is
// written in one transaction, replacing what is stored for those sites.
func cmdImport(args []string) int {
	if len(args) != 1 {
		errorf("import: need one FILE (or - for stdin)")
		return 2
	}
	b, err := readInput(args[0])
	if err != nil {
		return exitErr(err)
	}
	ex, err := parseExport(b)
	if err != nil {
		return exitErr(fmt.Errorf("%s: %w", args[0], err))
	}
	a, err := newAgent()
	if err != nil {
		return exitErr(err)
	}
	// Imported terms may no longer cover an agreement in force: the import
	// withdraws it, as terms set does.
	withdrawn, err := a.Import(context.Background(), ex, func(tx *store.Tx) error {
		if ex.Defaults != nil {
			if err := tx.PutDefaults(*ex.Defaults); err != nil {
				return err
			}
		}
		for site, u := range ex.Exceptions {
			if err := tx.PutException(site, u); err != nil {
				return err
			}
		}
		for _, r := range ex.Relationships {
			if err := tx.PutRelationship(r); err != nil {
				return err
			}
			if err := tx.ReplaceHistory(r.Site, ex.Histories[r.Site]); err != nil {
				return err
			}
		}
		if err := importProffers(tx, ex); err != nil {
			return err
		}
		return importMine(tx, ex)
	})
	if err != nil {
		return exitErr(err)
	}
	fmt.Printf("imported %d relationship(s), %d exception(s)\n", len(ex.Relationships), len(ex.Exceptions))
	printWithdrawn(withdrawn)
	return 0
}

func parseExport(b []byte) (*agent.Export, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var ex agent.Export
	if err := dec.Decode(&ex); err != nil {
		return nil, fmt.Errorf("not an rbutton export: %v", err)
	}
	if ex.V != 1 {
		return nil, fmt.Errorf("unsupported export version %d", ex.V)
	}
	check := func(what string, u policy.UserTerms) error {
		raw, _ := json.Marshal(u)
		if _, err := policy.ParseUserTerms(raw); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		return nil
	}
	if ex.Defaults != nil {
		if err := check("defaults", *ex.Defaults); err != nil {
			return nil, err
		}
	}
	for site, u := range ex.Exceptions {
		if c, err := policy.ParseOrigin(site); err != nil || c != site {
			return nil, fmt.Errorf("exception for invalid site %q", site)
		}
		if err := check("exceptions["+site+"]", u); err != nil {
			return nil, err
		}
	}
	sites := map[string]bool{}
	for i, r := range ex.Relationships {
		if c, err := policy.ParseOrigin(r.Site); err != nil || c != r.Site {
			return nil, fmt.Errorf("relationships[%d]: invalid site %q", i, r.Site)
		}
		switch r.State {
		case store.StateAgreed, store.StateConflict, store.StateEnded, store.StateError:
		default:
			return nil, fmt.Errorf("relationships[%d]: invalid state %q", i, r.State)
		}
		if r.Record != nil {
			if err := policy.VerifyRecord(*r.Record); err != nil {
				return nil, fmt.Errorf("relationships[%d].record: %v", i, err)
			}
		}
		sites[r.Site] = true
	}
	names := make([]string, 0, len(ex.Histories))
	for site := range ex.Histories {
		names = append(names, site)
	}
	sort.Strings(names)
	for _, site := range names {
		// A site with only MyTerms proffers has a history and no relationship.
		if !sites[site] && len(ex.Proffers[site]) == 0 {
			return nil, fmt.Errorf("history for %s without a relationship", site)
		}
		if err := policy.VerifyChain(ex.Histories[site]); err != nil {
			return nil, fmt.Errorf("histories[%s]: %v", site, err)
		}
	}
	if err := checkMine(&ex); err != nil {
		return nil, err
	}
	if err := checkProffers(&ex); err != nil {
		return nil, err
	}
	return &ex, nil
}
