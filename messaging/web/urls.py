"""URLs of the inbox pages (see docs/spec/pages.md)."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "messaging-web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="messaging-web:inbox", permanent=False), name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/with/<int:user_id>/", views.thread, name="thread"),
    path("inbox/with/<int:user_id>/delete/", views.delete_conversation, name="delete-conversation"),
    path("inbox/compose/", views.compose, name="compose"),
    path("inbox/search/", views.search, name="search"),
    path("inbox/messages/<int:message_id>/delete/", views.delete_message, name="delete"),
    path("inbox/messages/<int:message_id>/edit/", views.edit_message, name="edit"),
    path("inbox/messages/<int:message_id>/unsend/", views.unsend_message, name="unsend"),
    path("inbox/messages/<int:message_id>/report/", views.report, name="report"),
    path("inbox/messages/<int:message_id>/unread/", views.mark_unread, name="unread"),
    path("inbox/messages/<int:message_id>/attachment/", views.attachment, name="attachment"),
    path("inbox/messages/<int:message_id>/image/", views.image, name="image"),
    path("inbox/with/<int:user_id>/mute/", views.mute, name="mute"),
    path("inbox/block/<int:user_id>/", views.block, name="block"),
]
