"""Relay's admin site (the moderation console): Django's, with a note beside a model's link on the index.

A model admin with an `index_note(request)` method gets what it returns beside its link on the index and on
its app's page, or nothing for None: the open reports beside *Message reports*
(`messaging.admin.report.MessageReportAdmin.index_note`), so a moderator sees what waits for them on arrival.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html


class RelayAdminSite(admin.AdminSite):
    def index(self, request, extra_context=None):
        response = super().index(request, extra_context)
        self._add_index_notes(request, response)
        return response

    def app_index(self, request, app_label, extra_context=None):
        response = super().app_index(request, app_label, extra_context)
        self._add_index_notes(request, response)
        return response

    def _add_index_notes(self, request: HttpRequest, response: TemplateResponse) -> None:
        """Only on the index and the app pages: every admin page builds the app list (`each_context`), and a
        note may cost a query."""
        for app in (response.context_data or {}).get("app_list", []):
            for model in app["models"]:
                index_note = getattr(self._registry.get(model["model"]), "index_note", None)
                note = index_note(request) if index_note else None
                if note:
                    model["name"] = format_html('{} <span class="index-note">{}</span>', model["name"], note)
