package site

import (
	"fmt"
	"slices"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// Relationship is what the Items and Ended hooks are told about a
// relationship: its record (the agreement, with the user's pairwise key as
// Record.Record.Agreement.UserKey) and the first-party sessions linked to it.
type Relationship struct {
	Record   StoredRecord
	Sessions []string
}

// relationshipOf gathers what the hooks are told; linking is a session
// being linked to the relationship by the request at hand ("" if none).
func (v *Vendor) relationshipOf(sr StoredRecord, linking string) (Relationship, error) {
	sessions, err := v.store.Sessions(sr.Record.Agreement.UserKey)
	if err != nil {
		return Relationship{}, err
	}
	if linking != "" && !slices.Contains(sessions, linking) {
		sessions = append(sessions, linking)
	}
	return Relationship{Record: sr, Sessions: sessions}, nil
}

// hookItems asks Config.Items for what the application holds about the
// relationship (nil without a hook).
func (v *Vendor) hookItems(sr StoredRecord, linking string) ([]policy.DataItem, error) {
	if v.itemsHook == nil {
		return nil, nil
	}
	rel, err := v.relationshipOf(sr, linking)
	if err != nil {
		return nil, err
	}
	more, err := v.itemsHook(rel)
	if err != nil {
		return nil, fmt.Errorf("site: items hook: %w", err)
	}
	for i := range more {
		more[i].Time = more[i].Time.UTC().Truncate(time.Second)
	}
	return more, nil
}

// notifyEnded tells Config.Ended that a relationship ended. It runs after
// the end is stored and outside any exchange, so a slow hook delays only
// the request that ended it.
func (v *Vendor) notifyEnded(recordID, by string) {
	if v.endedHook == nil {
		return
	}
	sr, err := v.store.GetRecord(recordID)
	if err != nil {
		v.logf("cannot tell the ended hook about %s: %v", short(recordID), err)
		return
	}
	rel, err := v.relationshipOf(sr, "")
	if err != nil {
		v.logf("cannot tell the ended hook about %s: %v", short(recordID), err)
		return
	}
	v.endedHook(rel, by)
}
