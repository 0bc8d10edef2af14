"""Messaging errors. Unknown and not-yours look the same (404), so ids reveal nothing."""

from parley.kit.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class ChatNotFoundError(NotFoundError):
    code = "chat_not_found"


class MessageNotFoundError(NotFoundError):
    code = "message_not_found"


class MediaNotFoundError(NotFoundError):
    code = "media_not_found"


class InviteNotFoundError(NotFoundError):
    code = "invite_not_found"


class NotAnAdminError(ForbiddenError):
    code = "not_group_admin"


class EditWindowClosedError(ForbiddenError):
    code = "edit_window_closed"


class DeleteWindowClosedError(ForbiddenError):
    code = "delete_window_closed"


class NotYourMessageError(ForbiddenError):
    code = "not_your_message"


class GroupFullError(ConflictError):
    code = "group_full"


class LastAdminError(ConflictError):
    code = "last_admin"


class InvalidMessageError(InvalidInputError):
    code = "invalid_message"


class EncryptionRequiredError(InvalidMessageError):
    """This server takes only end-to-end encrypted content in chats between people."""

    code = "encryption_required"


class GroupAddNotAllowedError(ForbiddenError):
    """Their privacy settings (or a block) do not let this admin add them: they were sent an invitation instead."""

    code = "group_add_not_allowed"
