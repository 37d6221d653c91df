import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes: how operators find stuck work in the Temporal Web UI. */
export const OrganizationIdKey = defineSearchAttributeKey('OrganizationId', SearchAttributeType.KEYWORD);
export const ApplicationIdKey = defineSearchAttributeKey('ApplicationId', SearchAttributeType.KEYWORD);
export const RoleAssignmentStateKey = defineSearchAttributeKey('RoleAssignmentState', SearchAttributeType.KEYWORD);
export const ConnectionStateKey = defineSearchAttributeKey('ConnectionState', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [OrganizationIdKey, ApplicationIdKey, RoleAssignmentStateKey, ConnectionStateKey];
