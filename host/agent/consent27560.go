package agent

import (
	"net/url"
	"sort"
	"time"

	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// The agreements as consent records in the shape of ISO/IEC TS 27560:2023,
// in JSON-LD with the W3C Data Privacy Vocabulary (DPV) as the DPV-27560
// profile "record" describes them (w3id.org/dpv/guides/consent-27560), and
// the IEEE P7012 agreement codes of DPV's P7012 extension naming what was
// agreed. One consent record per dual-signed DNT-D record the user keeps.
//
// Field by field (27560 name → member here):
//
//	schema_version        dct:conformsTo        the dpv-27560 record profile IRI
//	record_id             dct:identifier        the DNT-D record id
//	pii_principal_id      dpv:hasDataSubject    the pairwise user key: no identity
//	privacy_notice        dpv:hasNotice         the site's policy URL and terms digest
//	language              dct:language          "und": the terms are machine-readable
//	purpose               dpv:hasProcess/dpv:hasPurpose       DPV purpose IRIs
//	pii_information       dpv:hasProcess/dpv:hasPersonalData  DPV-PD categories
//	pii_controllers       dpv:hasProcess/dpv:hasDataController
//	retention_period      dpv:hasProcess/dpv:hasStorageCondition
//	recipient_third_parties dpv:hasProcess/dpv:hasRecipient
//	withdrawal_method     dpv:hasProcess/dpv:hasConsentControl  the end endpoint
//	privacy_rights        dpv:hasProcess/dpv:hasRight           the agreed obligations
//	jurisdiction          dpv:hasProcess/dpv:hasJurisdiction    not stated by DNT-D
//	event_*               dpv:hasConsentStatus  one per history event naming the record

// Profile27560 is the DPV-27560 profile the export conforms to.
const Profile27560 = "https://w3id.org/dpv/schema/dpv-27560#record"

// Context27560 is the JSON-LD context of the export.
var Context27560 = map[string]string{
	"dpv":   "https://w3id.org/dpv#",
	"pd":    "https://w3id.org/dpv/pd#",
	"dct":   "http://purl.org/dc/terms/",
	"p7012": policy.P7012Base,
}

// ConsentRecords is the export document: a JSON-LD graph of records.
type ConsentRecords struct {
	Context  map[string]string `json:"@context"`
	Exported time.Time         `json:"dct:created"`
	Graph    []ConsentRecord   `json:"@graph"`
}

// ConsentRecord is one dpv:ConsentRecord.
type ConsentRecord struct {
	ID          string          `json:"@id"`
	Type        string          `json:"@type"`
	ConformsTo  string          `json:"dct:conformsTo"`
	Identifier  string          `json:"dct:identifier"`
	Created     time.Time       `json:"dct:created"`
	DataSubject Entity          `json:"dpv:hasDataSubject"`
	Notice      Notice          `json:"dpv:hasNotice"`
	Language    string          `json:"dct:language"`
	LegalBasis  IRI             `json:"dpv:hasLegalBasis"`
	Subject     Agreement7012   `json:"dct:subject"`
	Process     Process         `json:"dpv:hasProcess"`
	Status      []ConsentStatus `json:"dpv:hasConsentStatus"`
	ReplacedBy  string          `json:"dct:isReplacedBy,omitempty"`
}

// IRI is a JSON-LD node reference.
type IRI struct {
	ID string `json:"@id"`
}

// Entity is a party: the data subject, the controller, a recipient.
type Entity struct {
	Type       string `json:"@type"`
	Identifier string `json:"dct:identifier"`
	Name       string `json:"dpv:hasName,omitempty"`
	Contact    string `json:"dpv:hasContact,omitempty"`
	Address    string `json:"dpv:hasAddress,omitempty"`
}

// Notice is the privacy notice the agreement was made against.
type Notice struct {
	ID         string `json:"@id"`
	Type       string `json:"@type"`
	Identifier string `json:"dct:identifier"`
	Language   string `json:"dct:language"`
}

// Agreement7012 names the agreement as IEEE P7012 does.
type Agreement7012 struct {
	ID   string `json:"@id,omitempty"`
	Type string `json:"@type"`
}

// Process is the processing agreed to.
type Process struct {
	Type          string      `json:"@type"`
	Purposes      []IRI       `json:"dpv:hasPurpose"`
	PersonalData  []IRI       `json:"dpv:hasPersonalData"`
	Controller    Entity      `json:"dpv:hasDataController"`
	Storage       Storage     `json:"dpv:hasStorageCondition"`
	Recipients    []Entity    `json:"dpv:hasRecipient"`
	ConsentCtrl   []Control   `json:"dpv:hasConsentControl"`
	Rights        []Right     `json:"dpv:hasRight"`
	Jurisdictions []Described `json:"dpv:hasJurisdiction"`
}

// Storage is the agreed retention.
type Storage struct {
	Type     string `json:"@type"`
	Duration string `json:"dpv:hasDuration"`
}

// Control is how consent is withdrawn.
type Control struct {
	Type       string `json:"@type"`
	Identifier string `json:"dct:identifier"`
}

// Right is an agreed obligation of the site towards the user.
type Right struct {
	Type        string `json:"@type"`
	Title       string `json:"dct:title"`
	Description string `json:"dct:description"`
}

// Described is a node known only by a description.
type Described struct {
	Type        string `json:"@type"`
	Description string `json:"dct:description"`
}

// ConsentStatus is one consent event.
type ConsentStatus struct {
	Type   string    `json:"@type"`
	Date   time.Time `json:"dct:date"`
	Valid  string    `json:"dct:valid"`
	Entity IRI       `json:"dpv:isImplementedByEntity"`
	Detail string    `json:"dct:description,omitempty"`
}

// eventStatus maps history events to DPV consent states (PROTOCOL.md 12).
var eventStatus = map[string]string{
	policy.EventNegotiated:   "dpv:ConsentGiven",
	policy.EventRenegotiated: "dpv:RenewedConsentGiven",
	policy.EventEnded:        "dpv:ConsentWithdrawn",
	policy.EventWithdrawn:    "dpv:ConsentWithdrawn",
	policy.EventConflict:     "dpv:ConsentRefused",
}

// detailData maps the user's details to DPV-PD categories.
var detailData = map[string]string{
	policy.DetailName:        "pd:Name",
	policy.DetailEmail:       "pd:EmailAddress",
	policy.DetailAddress:     "pd:PostalAddress",
	policy.DetailPhone:       "pd:TelephoneNumber",
	policy.DetailPreferences: "pd:Preference",
}

// Export27560 reads every kept record and renders it as a consent record.
func Export27560(db *store.DB, now time.Time) (*ConsentRecords, error) {
	doc := &ConsentRecords{Context: Context27560, Exported: now.UTC().Truncate(time.Second), Graph: []ConsentRecord{}}
	err := db.View(func(tx *store.Tx) error {
		rels, err := tx.Relationships()
		if err != nil {
			return err
		}
		byID := map[string]*store.Relationship{}
		sites := map[string]bool{}
		for i := range rels {
			byID[rels[i].Site] = &rels[i]
			sites[rels[i].Site] = true
		}
		more, err := tx.RecordSites()
		if err != nil {
			return err
		}
		for _, s := range more {
			sites[s] = true
		}
		names := make([]string, 0, len(sites))
		for s := range sites {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, site := range names {
			rel := byID[site]
			kept, err := keptRecords(tx, site, rel)
			if err != nil {
				return err
			}
			events, err := tx.History(site)
			if err != nil {
				return err
			}
			sh, err := tx.Share(site)
			if err != nil {
				return err
			}
			for i, k := range kept {
				cr := consentRecord(site, rel, k.Record, events, sh)
				if i+1 < len(kept) {
					cr.ReplacedBy = recordIRI(kept[i+1].Record.ID)
				}
				doc.Graph = append(doc.Graph, cr)
			}
		}
		return nil
	})
	return doc, err
}

func recordIRI(id string) string { return "urn:dnt-d:record:" + url.PathEscape(id) }

func consentRecord(site string, rel *store.Relationship, r policy.Record, events []policy.Event, sh *store.Share) ConsentRecord {
	a := r.Agreement
	cr := ConsentRecord{
		ID: recordIRI(r.ID), Type: "dpv:ConsentRecord", ConformsTo: Profile27560, Identifier: r.ID, Created: a.Created,
		DataSubject: Entity{Type: "dpv:DataSubject", Identifier: "urn:dnt-d:key:" + a.UserKey},
		Language:    "und",
		LegalBasis:  IRI{ID: "dpv:ExpressedConsent"},
		Subject:     Agreement7012{Type: "p7012:Agreement"},
		Status:      []ConsentStatus{},
	}
	ctrl := Entity{Type: "dpv:DataController", Identifier: site, Address: site}
	notice := Notice{ID: site + policy.WellKnownPath, Type: "dpv:PrivacyNotice", Identifier: a.TermsDigest, Language: "und"}
	endURL := site
	if rel != nil && rel.SiteTerms != nil {
		ctrl.Name, ctrl.Contact = rel.SiteTerms.Controller.Name, rel.SiteTerms.Controller.Contact
		if rel.TermsDigest == a.TermsDigest {
			notice.ID = rel.SiteTerms.Policy
			if o := rel.SiteTerms.Offer(a.Offer); a.Offer != "" && o != nil && o.Preset != "" {
				cr.Subject.ID = "p7012:" + o.Preset
			}
		}
		endURL = site + rel.SiteTerms.Endpoints.End
	}
	if ctrl.Name == "" {
		ctrl.Name = site
	}
	if ctrl.Contact == "" {
		ctrl.Contact = site
	}
	cr.Notice = notice
	p := Process{Type: "dpv:Process", Controller: ctrl,
		Storage:       Storage{Type: "dpv:StorageDuration", Duration: string(a.Terms.Retention)},
		ConsentCtrl:   []Control{{Type: "dpv:WithdrawConsent", Identifier: endURL}},
		Jurisdictions: []Described{{Type: "dpv:Jurisdiction", Description: "not stated in the DNT-D terms"}},
		PersonalData:  []IRI{{ID: "pd:BrowsingBehavior"}},
	}
	for _, pu := range a.Terms.Purposes {
		p.Purposes = append(p.Purposes, IRI{ID: policy.PurposeIRI[pu]})
	}
	if sh != nil {
		for _, f := range sh.Fields() {
			p.PersonalData = append(p.PersonalData, IRI{ID: detailData[f]})
		}
	}
	p.Recipients = []Entity{{Type: "dpv:DataController", Identifier: site}}
	switch a.Terms.Sharing {
	case policy.SharingProcessors:
		p.Recipients = append(p.Recipients, Entity{Type: "dpv:DataProcessor", Identifier: "processors of " + site})
	case policy.SharingAnonymised, policy.SharingThirdParties, policy.SharingPublic:
		p.Recipients = append(p.Recipients, Entity{Type: "dpv:ThirdParty", Identifier: "sharing: " + string(a.Terms.Sharing)})
	}
	o := a.Obligations
	p.Rights = []Right{
		{Type: "dpv:DataSubjectRight", Title: "access", Description: string(o.Access)},
		{Type: "dpv:DataSubjectRight", Title: "deletion", Description: string(o.Deletion)},
		{Type: "dpv:DataSubjectRight", Title: "dataReturn", Description: string(o.DataReturn)},
		{Type: "dpv:DataSubjectRight", Title: "withdrawal", Description: "at any time, by a signed end request"},
	}
	cr.Process = p
	valid := a.Created.Format(time.RFC3339) + "/.."
	for _, e := range events {
		if e.Type == policy.EventEnded && e.Agreement == r.ID {
			valid = a.Created.Format(time.RFC3339) + "/" + e.Time.Format(time.RFC3339)
		}
	}
	for _, e := range events {
		st, ok := eventStatus[e.Type]
		if !ok || e.Agreement != r.ID {
			continue
		}
		cr.Status = append(cr.Status, ConsentStatus{Type: st, Date: e.Time, Valid: valid, Entity: IRI{ID: "dpv:DataSubject"}, Detail: e.Detail})
	}
	if len(cr.Status) == 0 {
		// A record kept without its event (imported, or from an older
		// rbutton): it was given when it was made.
		cr.Status = append(cr.Status, ConsentStatus{Type: "dpv:ConsentGiven", Date: a.Created, Valid: valid, Entity: IRI{ID: "dpv:DataSubject"}})
	}
	return cr
}
