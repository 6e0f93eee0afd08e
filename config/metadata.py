"""What OPTIONS answers on every API view (set once in `REST_FRAMEWORK`)."""

from rest_framework.metadata import SimpleMetadata


class NoActionsMetadata(SimpleMetadata):
    """OPTIONS answers name, description and media types, without DRF's per-method form description.

    DRF builds that description by calling `get_object()` for PUT, which custom actions without a `pk`
    (`mark-conversation-read/{user_id}`) cannot answer; and it would list input fields nobody needs.
    """

    def determine_actions(self, request, view):
        return {}
