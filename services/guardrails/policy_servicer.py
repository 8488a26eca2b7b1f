"""gRPC mapping of the policy RPCs of GuardrailsService: protobuf in, registry call, protobuf out."""

from __future__ import annotations

from guardrails import convert
from guardrails.policies import PolicyRegistry
from llmops.v1 import guardrails_pb2 as pb
from llmops_core.versioning import optional_version


class PolicyRpcs:
    """The policy RPCs; GuardrailsServicer inherits them and sets ``policies``."""

    policies: PolicyRegistry

    async def CreatePolicyVersion(self, request, context):
        policy, created = await self.policies.create(convert.policy_from_proto(request.policy))
        return pb.CreatePolicyVersionResponse(
            policy=convert.policy_to_proto(policy), created=created
        )

    async def GetPolicy(self, request, context):
        policy = await self.policies.get(request.name, request.version)
        return pb.GetPolicyResponse(policy=convert.policy_to_proto(policy))

    async def ListPolicies(self, request, context):
        policies, token = await self.policies.list_policies(
            page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListPoliciesResponse(
            policies=[convert.policy_to_proto(p) for p in policies], next_page_token=token
        )

    async def ListPolicyVersions(self, request, context):
        policies, token = await self.policies.list_versions(
            request.name, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListPolicyVersionsResponse(
            policies=[convert.policy_to_proto(p) for p in policies], next_page_token=token
        )

    async def SetPolicyLabel(self, request, context):
        label = await self.policies.set_label(
            request.name,
            request.label,
            request.version,
            expected_version=optional_version(request, "expected_version"),
            allow_protected=request.allow_protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.SetPolicyLabelResponse(label=convert.label_to_proto(label))

    async def RollbackPolicyLabel(self, request, context):
        label, previous = await self.policies.rollback_label(
            request.name,
            request.label,
            version=optional_version(request, "version"),
            expected_version=optional_version(request, "expected_version"),
            allow_protected=request.allow_protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.RollbackPolicyLabelResponse(
            label=convert.label_to_proto(label), previous_version=previous
        )

    async def ProtectPolicyLabel(self, request, context):
        label = await self.policies.protect_label(
            request.name,
            request.label,
            request.protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.ProtectPolicyLabelResponse(label=convert.label_to_proto(label))

    async def ListPolicyLabels(self, request, context):
        labels = await self.policies.list_labels(request.name)
        return pb.ListPolicyLabelsResponse(labels=[convert.label_to_proto(lb) for lb in labels])

    async def ListPolicyEvents(self, request, context):
        events, token = await self.policies.list_events(
            request.name,
            request.label,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListPolicyEventsResponse(
            events=[convert.event_to_proto(e) for e in events], next_page_token=token
        )

    async def DiffPolicyVersions(self, request, context):
        diff = await self.policies.diff(request.name, request.from_version, request.to_version)
        return pb.DiffPolicyVersionsResponse(
            from_policy=convert.policy_to_proto(diff.older),
            to_policy=convert.policy_to_proto(diff.newer),
            unified_diff=diff.unified_diff,
            changed_fields=diff.changed_fields,
        )
