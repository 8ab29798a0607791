"""Settings of a shop, under /t/<slug>/settings/. Every view takes the slug (see member_required)."""

from __future__ import annotations

from django.urls import path

from . import (
    settings,
    settings_calendars,
    settings_channels,
    settings_members,
    settings_queue,
    settings_service,
    settings_teams,
    settings_tokens,
)

urlpatterns = [
    path("", settings.home, name="settings"),
    path("general/", settings.general, name="settings_general"),
    path("members/", settings_members.members, name="settings_members"),
    path("members/<int:member_id>/", settings_members.member_detail, name="settings_member"),
    path("invitations/<int:invitation_id>/", settings_members.invitation_detail, name="settings_invitation"),
    path("teams/", settings_teams.teams, name="settings_teams"),
    path("teams/<int:team_id>/", settings_teams.team_detail, name="settings_team"),
    path("tags/", settings_teams.tags, name="settings_tags"),
    path("tags/<int:tag_id>/", settings_teams.tag_detail, name="settings_tag"),
    path("hours/", settings_calendars.calendars, name="settings_calendars"),
    path("hours/new/", settings_calendars.calendar_new, name="settings_calendar_new"),
    path("hours/<int:calendar_id>/", settings_calendars.calendar_detail, name="settings_calendar"),
    path("response-times/", settings_service.policies, name="settings_sla_policies"),
    path("response-times/new/", settings_service.policy_new, name="settings_sla_policy_new"),
    path("response-times/<int:policy_id>/", settings_service.policy_detail, name="settings_sla_policy"),
    path("promise/", settings_service.promise, name="settings_promise"),
    path("queue/", settings_queue.queue_settings, name="settings_queue"),
    path("channels/", settings_channels.channels, name="settings_channels"),
    path("channels/new/<slug:kind>/", settings_channels.channel_new, name="settings_channel_new"),
    path("channels/<int:channel_id>/", settings_channels.channel_detail, name="settings_channel"),
    path(
        "channels/<int:channel_id>/raw/<int:raw_id>/",
        settings_channels.raw_download,
        name="settings_channel_raw",
    ),
    path(
        "channels/<int:channel_id>/raw/<int:raw_id>/process/",
        settings_channels.raw_process,
        name="settings_channel_raw_process",
    ),
    path("tokens/", settings_tokens.tokens, name="settings_tokens"),
    path("tokens/<int:token_id>/", settings_tokens.token_detail, name="settings_token"),
]
