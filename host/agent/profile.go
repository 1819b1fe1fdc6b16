package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// The user's details, once for all sites (PROTOCOL.md, "Details update").
// A site receives a detail only when the user gives it (profile.share) and
// its agreement allows it (policy.AllowedDetails); when the user changes a
// detail, every site holding it whose agreement is in force is owed an
// update (profile.set), delivered by profile.push with bounded concurrency
// and retried with backoff until the site takes it or refuses it.

// DefaultPushConcurrency bounds the sites one push contacts at once.
const DefaultPushConcurrency = 16

// ProfileView is the result of profile.get and profile.set.
type ProfileView struct {
	Details policy.Details `json:"details"`
	Updated *time.Time     `json:"updated"`
	// Sites lists every site holding or able to hold a detail.
	Sites []ShareView `json:"sites"`
	// Pending counts sites owed an update.
	Pending int `json:"pending"`
	// OnAgree is what a site is given when an agreement with it is made
	// (OnAgreeAsk, OnAgreeEmail, OnAgreeAllowed), and OnAgreeWords says
	// so for the user.
	OnAgree      string `json:"onAgree"`
	OnAgreeWords string `json:"onAgreeWords"`
}

// What a site is given when an agreement with it is made: the user's
// default, set in the options page or with `rbutton profile default`.
const (
	OnAgreeAsk     = "ask"     // nothing; the user gives details per site
	OnAgreeEmail   = "email"   // the e-mail address, if the agreement allows it
	OnAgreeAllowed = "allowed" // every detail the agreement allows
)

// OnAgreeChoices lists the defaults in the order they are offered.
var OnAgreeChoices = []string{OnAgreeAsk, OnAgreeEmail, OnAgreeAllowed}

// onAgree reads a stored default; anything unknown is OnAgreeAsk.
func onAgree(p *store.Profile) string {
	if p != nil && slices.Contains(OnAgreeChoices, p.OnAgree) {
		return p.OnAgree
	}
	return OnAgreeAsk
}

// OnAgreeWords says what a default does.
func OnAgreeWords(v string) string {
	switch v {
	case OnAgreeEmail:
		return "When you agree with a site whose agreement allows it to hold your e-mail address, it is given your e-mail address. Nothing else is given unless you give it."
	case OnAgreeAllowed:
		return "When you agree with a site, it is given every one of your details its agreement allows it to hold."
	default:
		return "When you agree with a site, it is given none of your details; you give them per site, from the site's popup or with 'rbutton profile share'."
	}
}

// onAgreeFields returns the details a default gives under allowed.
func onAgreeFields(v string, allowed []string, d policy.Details) []string {
	var out []string
	for _, f := range allowed {
		if d.Get(f) == "" {
			continue
		}
		if v == OnAgreeAllowed || v == OnAgreeEmail && f == policy.DetailEmail {
			out = append(out, f)
		}
	}
	return out
}

// ShareView is what one site holds of the user's details.
type ShareView struct {
	Site       string `json:"site"`
	Controller string `json:"controller"`
	InForce    bool   `json:"inForce"`
	// Allowed is what its agreement allows it to hold.
	Allowed []string `json:"allowed"`
	// Holds maps each detail it holds to when it was first given.
	Holds       map[string]time.Time `json:"holds"`
	DeliveredAt *time.Time           `json:"deliveredAt"`
	Pending     *store.Pending       `json:"pending"`
	LastRefusal string               `json:"lastRefusal,omitempty"`
}

// gistTerms returns the agreed terms of a relationship in force.
func gistTerms(g *store.Gist) (policy.Terms, bool) {
	if g == nil || g.State != store.StateAgreed || g.Record == nil {
		return policy.Terms{}, false
	}
	return g.Record.Agreement.Terms, true
}

// detailsPath is where the site takes details ("" if it does not).
func detailsPath(g *store.Gist) string {
	if g == nil || g.SiteTerms == nil {
		return ""
	}
	return g.SiteTerms.Endpoints.Details
}

func shareView(site string, g *store.Gist, sh *store.Share) ShareView {
	v := ShareView{Site: site, Allowed: []string{}, Holds: map[string]time.Time{}}
	if g != nil && g.SiteTerms != nil {
		v.Controller = g.SiteTerms.Controller.Name
	}
	if t, ok := gistTerms(g); ok {
		v.InForce = true
		if detailsPath(g) != "" {
			v.Allowed = policy.AllowedDetails(t)
		}
	}
	if sh != nil {
		for f, t := range sh.Since {
			v.Holds[f] = t
		}
		if !sh.DeliveredAt.IsZero() {
			at := sh.DeliveredAt
			v.DeliveredAt = &at
		}
		v.Pending, v.LastRefusal = sh.Pending, sh.LastRefusal
	}
	return v
}

// profileView reads the profile and every site that holds a detail or
// could be given one.
func profileView(tx *store.Tx) (ProfileView, error) {
	var out ProfileView
	p, err := tx.Profile()
	if err != nil {
		return out, err
	}
	if p != nil && !p.Updated.IsZero() {
		out.Details = p.Details
		u := p.Updated
		out.Updated = &u
	}
	out.OnAgree = onAgree(p)
	out.OnAgreeWords = OnAgreeWords(out.OnAgree)
	shares, err := tx.Shares()
	if err != nil {
		return out, err
	}
	out.Sites = []ShareView{}
	err = tx.EachGist(func(g store.Gist) error {
		sh, has := shares[g.Site]
		var v ShareView
		if has {
			v = shareView(g.Site, &g, &sh)
		} else {
			v = shareView(g.Site, &g, nil)
		}
		if has || len(v.Allowed) > 0 {
			out.Sites = append(out.Sites, v)
		}
		if has && sh.Pending != nil {
			out.Pending++
		}
		return nil
	})
	return out, err
}

func (a *Agent) profileGet(_ context.Context, raw json.RawMessage) (any, error) {
	if _, err := decode[proto.NoParams](raw); err != nil {
		return nil, err
	}
	var out ProfileView
	err := a.DB.View(func(tx *store.Tx) error {
		var err error
		out, err = profileView(tx)
		return err
	})
	return out, err
}

// ParseDetails parses the user's details, naming the member at fault.
func ParseDetails(raw []byte) (*policy.Details, error) {
	d, err := policy.ParseDetails(raw)
	if err != nil {
		return nil, proto.Errorf(proto.CodeInvalidDetails, "details: %v", err)
	}
	return d, nil
}

func (a *Agent) profileSet(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ProfileSetParams](raw)
	if err != nil {
		return nil, err
	}
	d, err := ParseDetails(p.Details)
	if err != nil {
		return nil, err
	}
	return SetProfile(a.DB, *d, a.now())
}

// SetProfile stores the user's details and marks every site that holds a
// changed detail, under an agreement in force, as owed an update.
func SetProfile(db *store.DB, d policy.Details, now time.Time) (ProfileView, error) {
	now = now.UTC().Truncate(time.Second)
	var out ProfileView
	err := db.Update(func(tx *store.Tx) error {
		prev, err := tx.Profile()
		if err != nil {
			return err
		}
		if err := tx.PutProfile(store.Profile{Details: d, Updated: now, OnAgree: onAgree(prev)}); err != nil {
			return err
		}
		shares, err := tx.Shares()
		if err != nil {
			return err
		}
		for site, sh := range shares {
			g, err := tx.Gist(site)
			if err != nil {
				return err
			}
			want, ok := owed(g, sh, d)
			switch {
			case !ok:
				sh.Pending = nil
			case sh.Pending != nil && sameDetails(sh.Pending.Details, want):
				// already owed exactly this
			default:
				sh.Pending = &store.Pending{Details: want, Since: now, Next: now}
			}
			if err := tx.PutShare(site, sh); err != nil {
				return err
			}
		}
		out, err = profileView(tx)
		return err
	})
	return out, err
}

// owed returns the update a site is owed for details d: the details it
// holds that its agreement (in force) still allows, when they differ from
// what it last took.
func owed(g *store.Gist, sh store.Share, d policy.Details) (policy.Details, bool) {
	t, ok := gistTerms(g)
	if !ok {
		return policy.Details{}, false
	}
	allowed := policy.AllowedDetails(t)
	var fields []string
	for _, f := range sh.Fields() {
		if slices.Contains(allowed, f) && d.Get(f) != "" {
			fields = append(fields, f)
		}
	}
	want := d.Only(fields)
	if len(fields) == 0 || sameDetails(want, sh.Delivered.Only(fields)) {
		return policy.Details{}, false
	}
	return want, true
}

func sameDetails(a, b policy.Details) bool {
	for _, f := range policy.DetailFields {
		if a.Get(f) != b.Get(f) {
			return false
		}
	}
	return true
}

func (a *Agent) profileDefault(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ProfileDefaultParams](raw)
	if err != nil {
		return nil, err
	}
	var out ProfileView
	err = a.DB.Update(func(tx *store.Tx) error {
		prof, err := tx.Profile()
		if err != nil {
			return err
		}
		if prof == nil {
			prof = &store.Profile{}
		}
		prof.OnAgree = p.OnAgree
		if err := tx.PutProfile(*prof); err != nil {
			return err
		}
		out, err = profileView(tx)
		return err
	})
	return out, err
}

// onAgreeTimeout bounds the request that gives a site the user's default
// details right after the agreement, so that negotiate (15 s at most) plus
// this stays within the extension's 20 s: a slow site leaves them owed.
const onAgreeTimeout = 3 * time.Second

// shareOnAgree gives site what the user's default says, just after an
// agreement with it is made, unless the site already holds a detail. A site
// that cannot be reached is owed the details (retried with backoff, like any
// update); the negotiation never fails for it.
func (a *Agent) shareOnAgree(ctx context.Context, site string) {
	var prof *store.Profile
	var sh *store.Share
	err := a.DB.View(func(tx *store.Tx) error {
		var err error
		if prof, err = tx.Profile(); err != nil {
			return err
		}
		sh, err = tx.Share(site)
		return err
	})
	if err != nil || prof == nil || onAgree(prof) == OnAgreeAsk || sh != nil && len(sh.Since) > 0 {
		return
	}
	rel, priv, err := a.agreed(site)
	if err != nil || rel.SiteTerms.Endpoints.Details == "" {
		return
	}
	fields := onAgreeFields(onAgree(prof), policy.AllowedDetails(rel.Record.Agreement.Terms), prof.Details)
	if len(fields) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, onAgreeTimeout)
	defer cancel()
	_, err = a.give(ctx, site, rel, priv, prof.Details.Only(fields), fields, " (your default when agreeing)")
	if err == nil {
		return
	}
	if serr := a.oweGiven(site, rel.Record.ID, prof.Details.Only(fields), fields, err); serr != nil {
		a.Log.Warn().Err(serr).Str("site", site).Msg("recording details owed after agreeing")
	}
}

// oweGiven records details the user gave a site that could not be sent:
// unless the site refused them, it holds them from now on as far as the
// user is concerned, and is owed them, retried with backoff.
func (a *Agent) oweGiven(site, record string, send policy.Details, fields []string, sendErr error) error {
	now := a.now().Truncate(time.Second)
	if refusal(sendErr) {
		// Refused: the site does not hold them, and is not asked again.
		ne := toProto(sendErr)
		return a.DB.Update(func(tx *store.Tx) error {
			_, err := tx.AppendEvent(site, policy.Event{Type: policy.EventDetailsFailed, Time: now, Agreement: record,
				Detail: truncate("giving "+joinFields(fields)+" refused: "+ne.Message, 1000)})
			return err
		})
	}
	pending := store.Pending{Details: send, Since: now, Next: now}
	err := a.DB.Update(func(tx *store.Tx) error {
		sh, err := shareOf(tx, site)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if _, ok := sh.Since[f]; !ok {
				sh.Since[f] = now
			}
		}
		sh.Pending = &pending
		return tx.PutShare(site, *sh)
	})
	if err != nil {
		return err
	}
	return a.storeOutcomes([]pushDone{{job: pushJob{site: site, record: record, pending: pending}, err: sendErr}}, &PushResult{})
}

func (a *Agent) profileShare(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ProfileShareParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	for _, f := range p.Fields {
		if !slices.Contains(policy.DetailFields, f) {
			return nil, proto.Errorf(proto.CodeInvalidParams, "fields: %q is not a detail (want one of %s)", f, joinFields(policy.DetailFields))
		}
	}
	rel, priv, err := a.agreed(site)
	if err != nil {
		return nil, err
	}
	var prof *store.Profile
	if err := a.DB.View(func(tx *store.Tx) error { prof, err = tx.Profile(); return err }); err != nil {
		return nil, err
	}
	if prof == nil || prof.Updated.IsZero() {
		return nil, proto.Errorf(proto.CodeInvalidDetails, "you have not entered your details yet")
	}
	if rel.SiteTerms.Endpoints.Details == "" {
		return nil, proto.Errorf(proto.CodeNotSupported, "%s takes no details (its terms name no details endpoint)", site)
	}
	t := rel.Record.Agreement.Terms
	allowed := policy.AllowedDetails(t)
	fields := p.Fields
	if len(fields) == 0 {
		for _, f := range allowed {
			if prof.Details.Get(f) != "" {
				fields = append(fields, f)
			}
		}
		if len(fields) == 0 {
			return nil, proto.Errorf(proto.CodeNotAllowed, "none of your details may go to %s: its agreement (identity %s, contact %s) allows %s", site, t.Identity, t.Contact, orNothing(allowed))
		}
	}
	for _, f := range fields {
		if !slices.Contains(allowed, f) {
			return nil, proto.Errorf(proto.CodeNotAllowed, "%s: the agreement with %s (identity %s, contact %s) does not allow it; it allows %s", f, site, t.Identity, t.Contact, orNothing(allowed))
		}
		if prof.Details.Get(f) == "" {
			return nil, proto.Errorf(proto.CodeInvalidDetails, "%s: not in your details", f)
		}
	}
	return a.give(ctx, site, rel, priv, prof.Details.Only(fields), fields, "")
}

// give sends site the details the user gives it (send, holding fields) and
// records that it holds them. how is added to the history event.
func (a *Agent) give(ctx context.Context, site string, rel *store.Relationship, priv ed25519.PrivateKey, send policy.Details, fields []string, how string) (ShareView, error) {
	if err := a.Client.Details(ctx, site, rel.SiteTerms.Endpoints.Details, rel.Record.ID, send, priv); err != nil {
		return ShareView{}, err
	}
	now := a.now().Truncate(time.Second)
	var out ShareView
	err := a.DB.Update(func(tx *store.Tx) error {
		sh, err := shareOf(tx, site)
		if err != nil {
			return err
		}
		var added []string
		for _, f := range fields {
			if _, ok := sh.Since[f]; !ok {
				sh.Since[f] = now
				added = append(added, f)
			}
		}
		sh.Delivered = sh.Delivered.Apply(send.Only(fields))
		sh.DeliveredAt = now
		if sh.Pending != nil && sameDetails(sh.Pending.Details.Only(fields), send) {
			sh.Pending = nil
		}
		detail := "gave " + joinFields(fields) + how
		if len(added) == 0 {
			detail = "gave again " + joinFields(fields) + how
		}
		if _, err := tx.AppendEvent(site, policy.Event{Type: policy.EventDetailsShared, Time: now, Agreement: rel.Record.ID, Detail: detail}); err != nil {
			return err
		}
		if err := tx.PutShare(site, *sh); err != nil {
			return err
		}
		g, err := tx.Gist(site)
		out = shareView(site, g, sh)
		return err
	})
	return out, err
}

func orNothing(fs []string) string {
	if len(fs) == 0 {
		return "none of them"
	}
	return joinFields(fs)
}

// Push outcomes.
const (
	PushDelivered = "delivered" // the site took the update
	PushRefused   = "refused"   // the site refused it; not retried
	PushRetrying  = "retrying"  // unreachable or a broken answer; retried with backoff
	PushWaiting   = "waiting"   // owed, but its retry time has not come
	PushSkipped   = "skipped"   // the agreement is no longer in force; nothing sent
)

// PushOutcome is one site's outcome.
type PushOutcome struct {
	Site    string       `json:"site"`
	Outcome string       `json:"outcome"`
	Fields  []string     `json:"fields"`
	Error   *proto.Error `json:"error"`
	Next    *time.Time   `json:"next,omitempty"`
}

// PushResult is the result of profile.push.
type PushResult struct {
	Total     int           `json:"total"`
	Delivered int           `json:"delivered"`
	Refused   int           `json:"refused"`
	Retrying  int           `json:"retrying"`
	Waiting   int           `json:"waiting"`
	Skipped   int           `json:"skipped"`
	Sites     []PushOutcome `json:"sites"`
}

// Summary says how the push went, like "updated 37 of 40 sites; 3 will be
// retried".
func (r PushResult) Summary() string {
	if r.Total == 0 {
		return "no site is owed an update"
	}
	s := fmt.Sprintf("updated %d of %d site(s)", r.Delivered, r.Total)
	if n := r.Retrying + r.Waiting; n > 0 {
		s += fmt.Sprintf("; %d will be retried", n)
	}
	if r.Refused > 0 {
		s += fmt.Sprintf("; %d refused", r.Refused)
	}
	if r.Skipped > 0 {
		s += fmt.Sprintf("; %d skipped (agreement no longer in force)", r.Skipped)
	}
	return s
}

// PushProgress is reported as outcomes are committed.
type PushProgress struct {
	Done, Total, Delivered int
}

// PushOptions tunes a push. The zero value pushes what is due, 16 sites at
// a time.
type PushOptions struct {
	Concurrency int
	// All also retries sites whose retry time has not come.
	All bool
	// Max, if positive, sends at most Max updates (those due longest);
	// the rest wait for the next push.
	Max int
	// Progress, if set, is called after each batch of outcomes is stored.
	Progress func(PushProgress)
}

// PushParams is profile.push's params.
type PushParams struct {
	All bool `json:"all,omitempty"`
}

// Retries alongside other calls: a call that contacts sites anyway (see
// resendsEnds) also sends at most retryAlongside of the updates whose
// retry time has come, each within retryAlongsideTimeout, so an update a
// site could not take is delivered without the user asking again.
const (
	retryAlongside        = DefaultPushConcurrency
	retryAlongsideTimeout = 5 * time.Second
)

// RetryDueUpdates sends the detail updates whose retry time has come (at
// most retryAlongside) and stores the outcomes; store errors are logged.
func (a *Agent) RetryDueUpdates(ctx context.Context) *PushResult {
	ctx, cancel := context.WithTimeout(ctx, retryAlongsideTimeout)
	defer cancel()
	res, err := a.Push(ctx, PushOptions{Max: retryAlongside})
	if err != nil && res == nil {
		a.Log.Warn().Err(err).Msg("retrying the detail updates owed to sites")
	}
	return res
}

// detailsDue reports whether an update owed to a site is due for sending.
func detailsDue(tx *store.Tx, now time.Time) (bool, error) {
	shares, err := tx.Shares()
	if err != nil {
		return false, err
	}
	for _, sh := range shares {
		if sh.Pending != nil && !now.Before(sh.Pending.Next) {
			return true, nil
		}
	}
	return false, nil
}

func (a *Agent) profilePush(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[PushParams](raw)
	if err != nil {
		return nil, err
	}
	return a.Push(ctx, PushOptions{All: p.All})
}

type pushJob struct {
	site    string
	path    string // the site's details endpoint
	record  string
	priv    ed25519.PrivateKey
	pending store.Pending
}

type pushDone struct {
	job pushJob
	err error
}

// pushBatch is how many outcomes are stored per transaction: one fsync per
// batch rather than per site.
const pushBatch = 128

// Push sends every owed update, at most opts.Concurrency sites at once, and
// stores each outcome and its history event.
func (a *Agent) Push(ctx context.Context, opts PushOptions) (*PushResult, error) {
	conc := opts.Concurrency
	if conc <= 0 {
		conc = DefaultPushConcurrency
	}
	now := a.now()
	res := &PushResult{Sites: []PushOutcome{}}
	var jobs []pushJob
	var skipped []string
	err := a.DB.View(func(tx *store.Tx) error {
		shares, err := tx.Shares()
		if err != nil {
			return err
		}
		for site, sh := range shares {
			if sh.Pending == nil {
				continue
			}
			g, err := tx.Gist(site)
			if err != nil {
				return err
			}
			key, err := tx.Key(site)
			if err != nil {
				return err
			}
			if _, ok := gistTerms(g); !ok || key == nil || detailsPath(g) == "" {
				skipped = append(skipped, site)
				continue
			}
			if !opts.All && now.Before(sh.Pending.Next) {
				next := sh.Pending.Next
				res.Sites = append(res.Sites, PushOutcome{Site: site, Outcome: PushWaiting, Fields: sh.Pending.Details.Fields(), Next: &next,
					Error: &proto.Error{Code: "", Message: sh.Pending.LastError}})
				res.Waiting++
				continue
			}
			jobs = append(jobs, pushJob{site: site, path: detailsPath(g), record: g.Record.ID, priv: key.Private, pending: *sh.Pending})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if opts.Max > 0 && len(jobs) > opts.Max {
		slices.SortFunc(jobs, func(x, y pushJob) int { return x.pending.Next.Compare(y.pending.Next) })
		for _, j := range jobs[opts.Max:] {
			next := j.pending.Next
			res.Sites = append(res.Sites, PushOutcome{Site: j.site, Outcome: PushWaiting, Fields: j.pending.Details.Fields(), Next: &next,
				Error: &proto.Error{Code: "", Message: j.pending.LastError}})
			res.Waiting++
		}
		jobs = jobs[:opts.Max]
	}
	if len(skipped) > 0 {
		if err := a.DB.Update(func(tx *store.Tx) error {
			for _, site := range skipped {
				sh, err := tx.Share(site)
				if err != nil || sh == nil {
					return err
				}
				sh.Pending = nil
				if err := tx.PutShare(site, *sh); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, s := range skipped {
			res.Sites = append(res.Sites, PushOutcome{Site: s, Outcome: PushSkipped})
		}
		res.Skipped = len(skipped)
	}
	res.Total = len(jobs) + res.Waiting + res.Skipped

	work := make(chan pushJob)
	done := make(chan pushDone, conc)
	var wg sync.WaitGroup
	for range min(conc, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				err := a.Client.Details(ctx, j.site, j.path, j.record, j.pending.Details, j.priv)
				done <- pushDone{job: j, err: err}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, j := range jobs {
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()

	var batch []pushDone
	var storeErr error
	flush := func() {
		if len(batch) == 0 || storeErr != nil {
			batch = batch[:0]
			return
		}
		storeErr = a.storeOutcomes(batch, res)
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(PushProgress{Done: len(res.Sites) - res.Waiting - res.Skipped, Total: len(jobs), Delivered: res.Delivered})
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for open := true; open; {
		select {
		case d, ok := <-done:
			if !ok {
				open = false
				break
			}
			batch = append(batch, d)
			if len(batch) >= pushBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
	flush()
	if storeErr != nil {
		return nil, storeErr
	}
	if err := ctx.Err(); err != nil && len(res.Sites) < res.Total {
		return res, err
	}
	return res, nil
}

// storeOutcomes records a batch of outcomes in one transaction. An outcome
// for an update the user has since replaced is not applied to the newer one.
func (a *Agent) storeOutcomes(batch []pushDone, res *PushResult) error {
	now := a.now().Truncate(time.Second)
	var outs []PushOutcome
	err := a.DB.Update(func(tx *store.Tx) error {
		outs = outs[:0]
		for _, d := range batch {
			o := PushOutcome{Site: d.job.site, Fields: d.job.pending.Details.Fields()}
			sh, err := tx.Share(d.job.site)
			if err != nil {
				return err
			}
			if sh == nil || sh.Pending == nil || !sh.Pending.Since.Equal(d.job.pending.Since) {
				// Forgotten, or replaced by a newer update while we sent this one.
				o.Outcome = PushSkipped
				outs = append(outs, o)
				continue
			}
			var ev policy.Event
			var ne *proto.Error
			if d.err != nil {
				ne = toProto(d.err)
			}
			switch {
			case d.err == nil:
				o.Outcome = PushDelivered
				sh.Delivered = sh.Delivered.Apply(d.job.pending.Details.Only(o.Fields))
				sh.DeliveredAt, sh.Pending, sh.LastRefusal = now, nil, ""
				ev = policy.Event{Type: policy.EventDetailsUpdated, Detail: "updated " + joinFields(o.Fields)}
			case refusal(d.err):
				o.Outcome, o.Error = PushRefused, ne
				sh.Pending, sh.LastRefusal = nil, truncate(ne.Code+": "+ne.Message, 500)
				ev = policy.Event{Type: policy.EventDetailsFailed, Detail: truncate("update of "+joinFields(o.Fields)+" refused: "+ne.Message, 1000)}
			default:
				o.Outcome, o.Error = PushRetrying, ne
				p := sh.Pending
				p.Attempts++
				wait := BackoffBase << min(p.Attempts-1, 20)
				if wait > BackoffMax || wait <= 0 {
					wait = BackoffMax
				}
				var nerr *negotiate.Error
				if errors.As(d.err, &nerr) {
					wait = max(wait, nerr.RetryAfter)
				}
				p.Next, p.LastError = now.Add(wait), truncate(ne.Code+": "+ne.Message, 500)
				next := p.Next
				o.Next = &next
				if p.Attempts == 1 {
					// One event when an update first fails; retries are in Pending.
					ev = policy.Event{Type: policy.EventDetailsFailed, Detail: truncate(fmt.Sprintf("update of %s not delivered (%s: %s); will be retried", joinFields(o.Fields), ne.Code, ne.Message), 1000)}
				}
			}
			if ev.Type != "" {
				ev.Time, ev.Agreement = now, d.job.record
				if _, err := tx.AppendEvent(d.job.site, ev); err != nil {
					return err
				}
			}
			if err := tx.PutShare(d.job.site, *sh); err != nil {
				return err
			}
			outs = append(outs, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range outs {
		switch o.Outcome {
		case PushDelivered:
			res.Delivered++
		case PushRefused:
			res.Refused++
		case PushRetrying:
			res.Retrying++
		case PushSkipped:
			res.Skipped++
		}
		res.Sites = append(res.Sites, o)
	}
	return nil
}

// refusal reports whether a site's answer is final: it refused with a valid
// error document (other than 503 unavailable: its system is down, try
// later), or takes no details at all.
func refusal(err error) bool {
	var ne *negotiate.Error
	if errors.As(err, &ne) {
		return ne.Code == proto.CodeSiteRefused && ne.SiteCode != policy.CodeUnavailable || ne.Code == proto.CodeNotSupported
	}
	return false
}

// shareOf returns, inside tx, what site holds of my details, empty (and
// ready to add to) when it holds nothing yet.
func shareOf(tx *store.Tx, site string) (*store.Share, error) {
	sh, err := tx.Share(site)
	if err != nil || sh == nil {
		return &store.Share{Since: map[string]time.Time{}}, err
	}
	if sh.Since == nil {
		sh.Since = map[string]time.Time{}
	}
	return sh, nil
}
