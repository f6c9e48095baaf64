-- Results of policies in shadow mode: what each would have done at an action, had it been
-- enforced. Written in the action's own statement; read by GET /api/ledger/policies.
CREATE TABLE policy_shadow_results (
  id             bigserial PRIMARY KEY,
  policy         text NOT NULL,
  action         text NOT NULL,
  change_set     uuid NOT NULL REFERENCES change_sets (id),
  change_set_id  text NOT NULL,
  actor          text NOT NULL,
  matched        boolean NOT NULL,
  -- deny, require_approval or warn when it matched (a failed condition counts as deny); null otherwise.
  would          text CHECK (would IN ('deny', 'require_approval', 'warn')),
  -- The action itself was refused by an enforced policy (the refusal is recorded, so are these).
  refused        boolean NOT NULL,
  message        text,
  evaluated_at   timestamptz NOT NULL
);

CREATE INDEX policy_shadow_results_window ON policy_shadow_results (evaluated_at, policy);
CREATE INDEX policy_shadow_results_change_set ON policy_shadow_results (change_set);
