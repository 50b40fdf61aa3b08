import { getMetadataStorage, ValidationArguments, ValidationTypes, ValidatorConstraintInterface, ValidatorOptions } from 'class-validator';

/** One property's rules, as class-validator's executor applies them. */
interface PropertyRules {
  readonly property: string;
  /** @ValidateIf, @IsOptional: the property is validated only when every one holds. */
  readonly conditions: ((object: object, value: unknown) => boolean)[];
  readonly checks: {
    readonly validateIf?: (object: object, value: unknown) => boolean;
    readonly constraint: ValidatorConstraintInterface;
    readonly constraints: unknown[];
  }[];
}

interface ClassRules {
  readonly properties: PropertyRules[];
  readonly known: ReadonlySet<string>;
}

/** The validator options this models; any other (groups, skipMissingProperties...) leaves every object to class-validator. */
const MODELLED_OPTIONS = new Set(['whitelist', 'forbidUnknownValues', 'validationError', 'stopAtFirstError', 'dismissDefaultMessages']);

export function modelsOptions(options: ValidatorOptions): boolean {
  return Object.keys(options).every((key) => MODELLED_OPTIONS.has(key)) && !options.forbidNonWhitelisted;
}

const rulesByClass = new WeakMap<object, ClassRules | null>();

/**
 * Whether class-validator would find no error on `object` (an instance of a class with rules):
 * true or false from the very decorators and constraint validators class-validator runs, applied
 * in its order and under its conditions, without what makes it costly per call (grouping the
 * rules again, an error object per property, arguments and a closure per constraint, a promise
 * per validation). undefined when the class uses what this does not model (nested or async rules,
 * `each`, @IsDefined, no rules at all): class-validator decides. As class-validator does with
 * `whitelist`, properties without a rule are deleted from a valid object.
 *
 * Only a pass is taken from here: an object that fails is validated again by class-validator, for
 * its exact errors and messages. The options must be ones modelsOptions() accepts.
 */
export function passesEveryRule(object: object, whitelist: boolean): boolean | undefined {
  const target = object.constructor;
  let rules = rulesByClass.get(target);
  if (rules === undefined) {
    rules = compile(target);
    rulesByClass.set(target, rules);
  }
  if (rules === null) return undefined;
  const values = object as Record<string, unknown>;
  for (const { property, conditions, checks } of rules.properties) {
    const value = values[property];
    if (!holds(conditions, object, value)) continue;
    for (const { validateIf, constraint, constraints } of checks) {
      if (validateIf && !validateIf(object, value)) continue;
      const args: ValidationArguments = { targetName: target.name, property, object, value, constraints };
      const valid = constraint.validate(value, args) as unknown;
      if (valid instanceof Promise) return undefined;
      if (!valid) return false;
    }
  }
  if (whitelist) {
    for (const key of Object.keys(object)) if (!rules.known.has(key)) delete values[key];
  }
  return true;
}

function holds(conditions: PropertyRules['conditions'], object: object, value: unknown): boolean {
  for (const condition of conditions) if (!condition(object, value)) return false;
  return true;
}

/** The rules class-validator's executor reads for `target`, validated without groups. */
function compile(target: object): ClassRules | null {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(target as () => void, undefined as unknown as string, false, false, undefined);
  if (metadatas.length === 0) return null;
  const properties: PropertyRules[] = [];
  for (const [property, ofProperty] of Object.entries(storage.groupByPropertyName(metadatas))) {
    const rules: PropertyRules = { property, conditions: [], checks: [] };
    for (const metadata of ofProperty) {
      if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
        rules.conditions.push(metadata.constraints[0] as PropertyRules['conditions'][number]);
      } else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION && !metadata.each) {
        for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
          if (constraint.async) return null;
          rules.checks.push({ validateIf: metadata.validateIf, constraint: constraint.instance, constraints: metadata.constraints });
        }
      } else if (metadata.type !== ValidationTypes.WHITELIST) {
        return null;
      }
    }
    properties.push(rules);
  }
  return { properties, known: new Set(properties.map((p) => p.property)) };
}
