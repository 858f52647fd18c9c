import type { ExecutionContext, NodeExecutor, ResolvedValue } from '../engine/types.js';
import { isTypeCompatible } from '../engine/value-types.js';
import type { IFlowValue, VariableType } from '../schema/types.js';

export type ConditionOperator =
  | 'eq'
  | 'neq'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'in'
  | 'nin'
  | 'contains'
  | 'not_contains'
  | 'is_empty'
  | 'is_not_empty'
  | 'is_true'
  | 'is_false';

/** Operators that look at the left value only; whatever the right side holds is ignored. */
const UNARY: ReadonlySet<string> = new Set(['is_empty', 'is_not_empty', 'is_true', 'is_false']);

type Rules = Partial<Record<ConditionOperator, VariableType>>;

const EMPTINESS: Rules = { is_empty: 'null', is_not_empty: 'null' };
const ORDERED = (type: VariableType): Rules => ({ eq: type, neq: type, gt: type, gte: type, lt: type, lte: type });
const MEMBERSHIP: Rules = { in: 'array', nin: 'array' };

/** For each left type, the operators it supports and the type the right side must have (upstream's table). */
export const CONDITION_RULES: Readonly<Record<VariableType, Rules>> = {
  string: { eq: 'string', neq: 'string', contains: 'string', not_contains: 'string', ...MEMBERSHIP, ...EMPTINESS },
  number: { ...ORDERED('number'), ...MEMBERSHIP, ...EMPTINESS },
  integer: { ...ORDERED('integer'), ...MEMBERSHIP, ...EMPTINESS },
  boolean: { eq: 'boolean', neq: 'boolean', is_true: 'null', is_false: 'null', ...MEMBERSHIP, ...EMPTINESS },
  object: EMPTINESS,
  map: EMPTINESS,
  array: EMPTINESS,
  'date-time': { ...ORDERED('date-time'), ...EMPTINESS },
  null: { eq: 'null', ...EMPTINESS },
};

interface ConditionItem {
  key: string;
  value?: { left?: IFlowValue; operator?: string; right?: IFlowValue };
}

interface ParsedCondition {
  key: string;
  operator: ConditionOperator;
  left: unknown;
  leftType: VariableType;
  right: unknown;
  rightType: VariableType;
}

/** Null or missing, for every type: '', ' ', [], {} and 0 are values (upstream's condition-string.test.ts). */
function isEmptyValue(value: unknown): boolean {
  return value === null || value === undefined;
}

function compare(operator: ConditionOperator, left: number, right: number): boolean {
  switch (operator) {
    case 'eq':
      return left === right;
    case 'neq':
      return left !== right;
    case 'gt':
      return left > right;
    case 'gte':
      return left >= right;
    case 'lt':
      return left < right;
    case 'lte':
      return left <= right;
    default:
      return false;
  }
}

function includes(list: unknown, value: unknown): boolean {
  return Array.isArray(list) && list.includes(value);
}

/** Evaluates one parsed condition. */
export function evaluateCondition(condition: ParsedCondition): boolean {
  const { operator, left, right, leftType } = condition;
  switch (operator) {
    case 'is_empty':
      return isEmptyValue(left);
    case 'is_not_empty':
      return !isEmptyValue(left);
    case 'is_true':
      return left === true;
    case 'is_false':
      return left === false;
    case 'in':
      return includes(right, left);
    case 'nin':
      return !includes(right, left);
    case 'contains':
      return typeof left === 'string' && typeof right === 'string' && left.includes(right);
    case 'not_contains':
      return typeof left === 'string' && typeof right === 'string' && !left.includes(right);
    default:
      break;
  }
  if (leftType === 'null') return operator === 'eq' && (left === null || left === undefined) && (right === null || right === undefined);
  if (leftType === 'date-time') return compare(operator, new Date(left as string).getTime(), new Date(right as string).getTime());
  if (leftType === 'number' || leftType === 'integer') return compare(operator, left as number, right as number);
  if (operator === 'eq') return left === right;
  if (operator === 'neq') return left !== right;
  return false;
}

function parseCondition(item: ConditionItem, context: ExecutionContext): ParsedCondition {
  const { left, operator, right } = item.value ?? {};
  if (left !== undefined && left.type !== 'ref') {
    throw new Error(`condition "${item.key}": the left side must be a variable reference`);
  }
  const resolvedLeft = context.values.resolveRef(left?.content);
  const leftType = resolvedLeft?.type ?? 'null';
  const rule = CONDITION_RULES[leftType];
  if (!rule) throw new Error(`condition "${item.key}": left type "${leftType}" is not supported`);
  const rightRule = rule[operator as ConditionOperator];
  if (!rightRule) throw new Error(`condition "${item.key}": left type "${leftType}" has no operator "${String(operator)}"`);
  let resolvedRight: ResolvedValue | null = null;
  if (!UNARY.has(operator as string) && right) resolvedRight = context.values.resolve(right, rightRule);
  return {
    key: item.key,
    operator: operator as ConditionOperator,
    left: resolvedLeft?.value ?? null,
    leftType,
    right: resolvedRight?.value ?? null,
    rightType: UNARY.has(operator as string) ? 'null' : (resolvedRight?.type ?? 'null'),
  };
}

/** Takes the first branch whose condition holds, else `else`. A right side of the wrong type never matches. */
export const conditionExecutor: NodeExecutor = {
  type: 'condition',
  execute(context) {
    const conditions = context.node.data.conditions as ConditionItem[] | undefined;
    if (!Array.isArray(conditions)) return { outputs: {} };
    // Every condition is checked for a supported operator before any is evaluated, as upstream does.
    // (Plain loops: this runs once per node per loop iteration.)
    const parsed = new Array<ParsedCondition>(conditions.length);
    for (let i = 0; i < conditions.length; i++) parsed[i] = parseCondition(conditions[i], context);
    for (let i = 0; i < parsed.length; i++) {
      const condition = parsed[i];
      const expected = CONDITION_RULES[condition.leftType][condition.operator] as VariableType;
      if (isTypeCompatible(expected, condition.rightType) && evaluateCondition(condition)) return { outputs: {}, branch: condition.key };
    }
    return { outputs: {}, branch: 'else' };
  },
};
