"""gRPC mapping of the prompt registry: protobuf in, domain call, protobuf out."""

from __future__ import annotations

from llmops.v1 import common_pb2, prompt_registry_pb2_grpc
from llmops.v1 import prompt_registry_pb2 as pb
from llmops_core.versioning import optional_version
from prompt_registry import convert
from prompt_registry.domain import AuditFilter, PromptRegistry
from prompt_registry.prompts_as_code import export_prompts, import_prompts


class PromptRegistryServicer(prompt_registry_pb2_grpc.PromptRegistryServiceServicer):
    def __init__(self, registry: PromptRegistry) -> None:
        self.registry = registry
        self._versions = convert.VersionProtos()

    # --- versions and prompts -------------------------------------------------------------

    async def CreatePromptVersion(self, request, context):
        record, created = await self.registry.create_version(
            request.name,
            convert.content_from_proto(request.content),
            tags=list(request.tags),
            commit_message=request.commit_message,
            author=request.author,
        )
        response = pb.CreatePromptVersionResponse(created=created)
        self._versions.fill(response.version, record)
        return response

    async def GetPromptVersion(self, request, context):
        record = await self.registry.get_version(request.name, request.version)
        response = pb.GetPromptVersionResponse()
        self._versions.fill(response.version, record)
        return response

    async def ListPromptVersions(self, request, context):
        records, token = await self.registry.list_versions(
            request.name, page_size=request.page_size, page_token=request.page_token
        )
        response = pb.ListPromptVersionsResponse(next_page_token=token)
        for record in records:
            self._versions.fill(response.versions.add(), record)
        return response

    async def GetPrompt(self, request, context):
        info = await self.registry.get_prompt(request.name)
        return pb.GetPromptResponse(prompt=convert.prompt_to_proto(info))

    async def ListPrompts(self, request, context):
        infos, token = await self.registry.list_prompts(
            page_size=request.page_size,
            page_token=request.page_token,
            prefix=request.prefix,
            tag=request.tag,
            label=request.label,
        )
        return pb.ListPromptsResponse(
            prompts=[convert.prompt_to_proto(info) for info in infos], next_page_token=token
        )

    async def DeletePrompt(self, request, context):
        deleted = await self.registry.delete_prompt(
            request.name,
            allow_protected=request.allow_protected,
            allow_missing=request.allow_missing,
            author=request.author,
            reason=request.reason,
        )
        return pb.DeletePromptResponse(deleted=deleted)

    async def DiffPromptVersions(self, request, context):
        result = await self.registry.diff(request.name, request.from_version, request.to_version)
        response = pb.DiffPromptVersionsResponse(
            unified_diff=result.unified_diff,
            changes=[
                pb.PromptFieldChange(field=c.field, before=c.before, after=c.after)
                for c in result.changes
            ],
        )
        self._versions.fill(response.from_version, result.older)
        self._versions.fill(response.to_version, result.newer)
        return response

    # --- labels -----------------------------------------------------------------------------

    async def SetLabel(self, request, context):
        label = await self.registry.set_label(
            request.name,
            request.label,
            request.version,
            expected_version=optional_version(request, "expected_version"),
            author=request.author,
            reason=request.reason,
            allow_protected=request.allow_protected,
            evaluation_run_id=request.evaluation_run_id,
        )
        return pb.SetLabelResponse(label=convert.label_to_proto(label))

    async def SetLabelSplit(self, request, context):
        label = await self.registry.set_label_split(
            request.name,
            request.label,
            [(arm.version, arm.weight) for arm in request.splits],
            expected_version=optional_version(request, "expected_version"),
            author=request.author,
            reason=request.reason,
            allow_protected=request.allow_protected,
            evaluation_run_ids=list(request.evaluation_run_ids),
        )
        return pb.SetLabelSplitResponse(label=convert.label_to_proto(label))

    async def RollbackLabel(self, request, context):
        label, previous = await self.registry.rollback_label(
            request.name,
            request.label,
            version=optional_version(request, "version"),
            expected_version=optional_version(request, "expected_version"),
            author=request.author,
            reason=request.reason,
            allow_protected=request.allow_protected,
        )
        return pb.RollbackLabelResponse(
            label=convert.label_to_proto(label), previous_version=previous
        )

    async def ProtectLabel(self, request, context):
        label = await self.registry.protect_label(
            request.name,
            request.label,
            request.protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.ProtectLabelResponse(label=convert.label_to_proto(label))

    async def SetPromotionGate(self, request, context):
        label = await self.registry.set_promotion_gate(
            request.name,
            request.label,
            convert.gate_from_proto(request),
            allow_protected=request.allow_protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.SetPromotionGateResponse(label=convert.label_to_proto(label))

    async def DeleteLabel(self, request, context):
        await self.registry.delete_label(
            request.name,
            request.label,
            expected_version=optional_version(request, "expected_version"),
            allow_protected=request.allow_protected,
            author=request.author,
            reason=request.reason,
        )
        return pb.DeleteLabelResponse()

    async def ListLabels(self, request, context):
        labels = await self.registry.list_labels(request.name)
        return pb.ListLabelsResponse(labels=[convert.label_to_proto(label) for label in labels])

    async def ListLabelHistory(self, request, context):
        events, token = await self.registry.list_label_history(
            request.name,
            request.label,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListLabelHistoryResponse(
            events=[convert.event_to_proto(event) for event in events], next_page_token=token
        )

    # --- resolving and rendering --------------------------------------------------------------

    async def ResolvePrompt(self, request, context):
        record, label = await self.registry.resolve(
            request.name,
            label=request.label,
            version=request.version,
            sticky_key=request.sticky_key,
        )
        response = pb.ResolvePromptResponse(label=label)
        self._versions.fill(response.version, record)
        return response

    async def RenderPrompt(self, request, context):
        rendered = await self.registry.render(
            request.name,
            request.variables,
            label=request.label,
            version=request.version,
            sticky_key=request.sticky_key,
        )
        response = pb.RenderPromptResponse(
            text=rendered.text,
            messages=[common_pb2.ChatMessage(**m) for m in rendered.messages],
            unused_variables=rendered.unused_variables,
            label=rendered.label,
        )
        self._versions.fill(response.version, rendered.record)
        return response

    # --- audit and watch ----------------------------------------------------------------------

    async def ListAuditEvents(self, request, context):
        query = AuditFilter(
            prompt_name=request.prompt_name,
            label=request.label,
            types=convert.event_types_from_proto(request.types),
            author=request.author,
            start_ms=convert.milliseconds(request, "start_time"),
            end_ms=convert.milliseconds(request, "end_time"),
        )
        events, token = await self.registry.list_audit_events(
            query, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListAuditEventsResponse(
            events=[convert.event_to_proto(event) for event in events], next_page_token=token
        )

    async def WatchPrompts(self, request, context):
        events = await self.registry.watch(request.prefix, request.after_event_id)
        try:
            # Initial metadata tells the client the subscription is in place: every change
            # from now on reaches this stream.
            await context.send_initial_metadata(())
            async for event in events:
                yield pb.WatchPromptsResponse(event=convert.event_to_proto(event))
        finally:
            await events.aclose()

    # --- prompts as code ------------------------------------------------------------------------

    async def ImportPrompts(self, request, context):
        results = await import_prompts(
            self.registry,
            [convert.spec_from_proto(spec) for spec in request.prompts],
            author=request.author,
            dry_run=request.dry_run,
            allow_protected=request.allow_protected,
        )
        return pb.ImportPromptsResponse(
            results=[convert.import_result_to_proto(result) for result in results]
        )

    async def ExportPrompts(self, request, context):
        specs = await export_prompts(self.registry, prefix=request.prefix, label=request.label)
        return pb.ExportPromptsResponse(prompts=[convert.spec_to_proto(spec) for spec in specs])
