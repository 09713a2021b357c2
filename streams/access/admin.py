"""Principals on the cluster through the Kafka admin API: SCRAM credentials and ACLs created, and revoked."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from streams.access.acls import Pattern, Principal, Resource
from streams.settings import KafkaSettings

logger = logging.getLogger(__name__)

_RESOURCE_TYPES = {
    Resource.TOPIC: ResourceType.TOPIC,
    Resource.GROUP: ResourceType.GROUP,
    Resource.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
_PATTERN_TYPES = {Pattern.LITERAL: ResourcePatternType.LITERAL, Pattern.PREFIXED: ResourcePatternType.PREFIXED}
# Kafka's resource-not-found error on a credential delete: the user is already gone.
_RESOURCE_NOT_FOUND = 91


def acl_bindings(principal: Principal) -> list[AclBinding]:
    return [
        AclBinding(_RESOURCE_TYPES[grant.resource], grant.name, _PATTERN_TYPES[grant.pattern],
                   principal.kafka_principal, "*", AclOperation[operation.name], AclPermissionType.ALLOW)
        for grant in principal.grants
        for operation in grant.operations
    ]


class AccessAdmin:
    """Runs as the super user (or any principal allowed to alter users and ACLs)."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 30.0, scram_iterations: int = 8192) -> None:
        self._admin = AdminClient(kafka.client_config())
        self.timeout_s = timeout_s
        self.scram_iterations = scram_iterations

    def add(self, principal: Principal, password: SecretStr) -> None:
        """Create (or re-key) the principal's SCRAM user and grant its ACLs; both are idempotent."""
        credential = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, self.scram_iterations)
        upsertion = UserScramCredentialUpsertion(principal.user, credential, password.get_secret_value().encode())
        for future in self._admin.alter_user_scram_credentials([upsertion]).values():
            future.result(self.timeout_s)
        self._wait_until_known(principal.user)
        for future in self._admin.create_acls(acl_bindings(principal)).values():
            future.result(self.timeout_s)
        logger.debug("principal %s: SCRAM user and %d ACL grants in place", principal.user, len(principal.grants))

    def _wait_until_known(self, user: str) -> None:
        """The controller has the credential once the upsert returns; the broker's cache has it a moment later,
        and a client that connects in between is refused."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                self._admin.describe_user_scram_credentials([user])[user].result(self.timeout_s)
                return
            except KafkaException as error:
                if error.args[0].code() != _RESOURCE_NOT_FOUND or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def remove(self, user: str) -> Removal:
        """Delete every ACL of the user and its SCRAM credential. Connected clients are refused at their next
        request and disconnected at their next re-authentication."""
        principal_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{user}", None,
                                            AclOperation.ANY, AclPermissionType.ANY)
        deleted = sum(len(future.result(self.timeout_s))
                      for future in self._admin.delete_acls([principal_filter]).values())
        deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
        existed = True
        for future in self._admin.alter_user_scram_credentials([deletion]).values():
            try:
                future.result(self.timeout_s)
            except KafkaException as error:
                if error.args[0].code() != _RESOURCE_NOT_FOUND:
                    raise
                existed = False
        return Removal(deleted, existed)


@dataclass(frozen=True)
class Removal:
    acl_entries: int
    user_existed: bool
