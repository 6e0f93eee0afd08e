"""Auth endpoints: JWT token pair, refresh (rotating), verify, logout, register, me."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from config.throttles import SettingsScopedRateThrottle
from users.tokens import RefreshToken

from . import services
from .lockout import LoginLockedOut
from .serializers import LogoutSerializer, MeSerializer, ProfileUpdateSerializer, RegisterSerializer, UserSerializer


@extend_schema_view(post=extend_schema(summary="Log in: get an access and a refresh token"))
class LoginView(TokenObtainPairView):
    """`{username, password}` → `{access, refresh}`; rate limited per client address, and refused (429) while
    the brute-force lockout holds for the client's address or for the username from it (`users.lockout`)."""

    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "login"

    def handle_exception(self, exc):
        # django-axes marks the request it was given, which here is DRF's, not the one its middleware sees.
        if getattr(self.request, "axes_locked_out", False):
            exc = LoginLockedOut()
        return super().handle_exception(exc)


class LogoutView(APIView):
    """Blacklist a refresh token so it can no longer be used (an authenticated call, as the contract says)."""

    @extend_schema(summary="Log out: revoke a refresh token", request=LogoutSerializer, responses={205: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            return Response({"detail": str(exc), "code": "token_not_valid"}, status=status.HTTP_401_UNAUTHORIZED)
        return Response(status=status.HTTP_205_RESET_CONTENT)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(summary="Create an account", request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.register_user(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Show your account and settings", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        summary="Change your display name or settings",
        request=ProfileUpdateSerializer,
        responses={200: MeSerializer, 400: None},
    )
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.update_profile(user=request.user, **serializer.validated_data)
        return Response(MeSerializer(user).data)


@extend_schema_view(post=extend_schema(summary="Refresh: trade a refresh token for a new pair"))
class RefreshView(TokenRefreshView):
    """`{refresh}` → `{access, refresh}`: the refresh token is spent (blacklisted) and a new pair returned."""


@extend_schema_view(post=extend_schema(summary="Check that a token is valid"))
class VerifyView(TokenVerifyView):
    """`{token}` → 200 for a valid access or refresh token, else 401."""
