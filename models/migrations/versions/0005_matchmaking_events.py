"""matchmaking events: events, participants, meeting requests, exclusions and meetings

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def _enum(*values: str, name: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "matchmaking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("venue", sa.String(length=300), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("tables", sa.Integer(), nullable=False),
        sa.Column("min_score", sa.Double(), nullable=False),
        sa.Column("status", _enum("open", "published", "closed", name="eventstatus"), nullable=False),
        sa.Column("pair_scores", sa.JSON(), nullable=True),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matchmaking_events")),
    )
    op.create_index(op.f("ix_matchmaking_events_status"), "matchmaking_events", ["status"])
    event_fk = ("event_id", "matchmaking_events", "CASCADE")

    def fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
        )

    op.create_table(
        "event_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("available_slots", sa.JSON(), nullable=False),
        sa.Column("meeting_cap", sa.Integer(), nullable=False),
        sa.Column("offer_ids", sa.JSON(), nullable=False),
        sa.Column("need_ids", sa.JSON(), nullable=False),
        _created(),
        fk("event_participants", *event_fk),
        fk("event_participants", "organization_id", "organizations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_participants")),
        sa.UniqueConstraint("event_id", "organization_id", name="uq_event_participants_org"),
    )
    op.create_index(op.f("ix_event_participants_event_id"), "event_participants", ["event_id"])

    op.create_table(
        "meeting_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("requested", "accepted", "declined", name="requeststatus"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _created(),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        fk("meeting_requests", *event_fk),
        fk("meeting_requests", "requester_id", "event_participants", "CASCADE"),
        fk("meeting_requests", "target_id", "event_participants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_requests")),
        sa.UniqueConstraint("event_id", "requester_id", "target_id", name="uq_meeting_requests_pair"),
    )
    op.create_index(op.f("ix_meeting_requests_event_id"), "meeting_requests", ["event_id"])

    op.create_table(
        "event_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("excluded_organization_id", sa.Integer(), nullable=False),
        _created(),
        fk("event_exclusions", *event_fk),
        fk("event_exclusions", "organization_id", "organizations", "CASCADE"),
        fk("event_exclusions", "excluded_organization_id", "organizations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_exclusions")),
        sa.UniqueConstraint(
            "event_id", "organization_id", "excluded_organization_id", name="uq_event_exclusions_pair"
        ),
    )
    op.create_index(op.f("ix_event_exclusions_event_id"), "event_exclusions", ["event_id"])

    op.create_table(
        "event_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("table_number", sa.Integer(), nullable=False),
        sa.Column("source", _enum("request", "proposal", name="meetingsource"), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column(
            "status", _enum("proposed", "confirmed", "cancelled", name="meetingstatus"), nullable=False
        ),
        sa.Column("a_confirmed", sa.Boolean(), nullable=False),
        sa.Column("b_confirmed", sa.Boolean(), nullable=False),
        sa.Column(
            "outcome",
            _enum("led_to_introduction", "no_introduction", "no_show", name="meetingoutcome", length=32),
            nullable=True,
        ),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        fk("event_meetings", *event_fk),
        fk("event_meetings", "a_id", "event_participants", "CASCADE"),
        fk("event_meetings", "b_id", "event_participants", "CASCADE"),
        fk("event_meetings", "need_id", "needs", "SET NULL"),
        fk("event_meetings", "offer_id", "offers", "SET NULL"),
        fk("event_meetings", "match_id", "matches", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_meetings")),
    )
    for column in ("event_id", "a_id", "b_id", "status"):
        op.create_index(op.f(f"ix_event_meetings_{column}"), "event_meetings", [column])


def downgrade() -> None:
    for table in ("event_meetings", "event_exclusions", "meeting_requests", "event_participants"):
        op.drop_table(table)
    op.drop_table("matchmaking_events")
