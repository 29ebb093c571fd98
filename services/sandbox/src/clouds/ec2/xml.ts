// Serialises an operation's output the way EC2 does: element names from locationName, lists
// wrapped with one child per item, and every value checked against the model on the way out
// (a response the model does not allow is a simulator bug, so it throws).
import { shapeOf, type Ec2Model, type Shape } from './model.js';

export type OutputValue = string | number | boolean | Date | OutputValue[] | OutputObject | undefined;
export interface OutputObject {
  [member: string]: OutputValue;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function serializeOutput(model: Ec2Model, operation: string, outputShape: string | undefined, output: OutputObject, requestId: string): string {
  const body = outputShape ? serializeMembers(model, shapeOf(model, outputShape), output, operation) : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${model.metadata.xmlNamespace}/">` +
    `<requestId>${requestId}</requestId>${body}</${operation}Response>`
  );
}

export function serializeError(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  );
}

function serializeMembers(model: Ec2Model, shape: Shape, value: OutputObject, path: string): string {
  const members = shape.members ?? {};
  let xml = '';
  for (const [name, memberValue] of Object.entries(value)) {
    if (memberValue === undefined) continue;
    const member = members[name];
    if (!member) throw new Error(`simulator bug: ${path}.${name} is not a member of the output shape`);
    const elementName = member.locationName ?? name;
    xml += serializeValue(model, shapeOf(model, member.shape), memberValue, elementName, `${path}.${name}`);
  }
  return xml;
}

function serializeValue(model: Ec2Model, shape: Shape, value: OutputValue, elementName: string, path: string): string {
  if (value === undefined) return '';
  switch (shape.type) {
    case 'structure':
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
        throw new Error(`simulator bug: ${path} must be a structure`);
      }
      return `<${elementName}>${serializeMembers(model, shape, value, path)}</${elementName}>`;
    case 'list': {
      if (!Array.isArray(value)) throw new Error(`simulator bug: ${path} must be a list`);
      const member = shape.member;
      if (!member) throw new Error(`list ${path} has no member`);
      const memberShape = shapeOf(model, member.shape);
      const items = value.map((item, index) => serializeValue(model, memberShape, item, member.locationName ?? 'member', `${path}[${index}]`)).join('');
      return `<${elementName}>${items}</${elementName}>`;
    }
    case 'timestamp':
      if (!(value instanceof Date)) throw new Error(`simulator bug: ${path} must be a Date`);
      return `<${elementName}>${value.toISOString()}</${elementName}>`;
    case 'boolean':
      if (typeof value !== 'boolean') throw new Error(`simulator bug: ${path} must be a boolean`);
      return `<${elementName}>${value}</${elementName}>`;
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`simulator bug: ${path} must be an integer`);
      return `<${elementName}>${value}</${elementName}>`;
    case 'double':
    case 'float':
      if (typeof value !== 'number') throw new Error(`simulator bug: ${path} must be a number`);
      return `<${elementName}>${value}</${elementName}>`;
    case 'string':
      if (typeof value !== 'string') throw new Error(`simulator bug: ${path} must be a string`);
      if (shape.enum && !shape.enum.includes(value)) throw new Error(`simulator bug: ${path}=${value} is not in the model's enum`);
      return `<${elementName}>${escapeXml(value)}</${elementName}>`;
    default:
      throw new Error(`simulator bug: unsupported output type ${shape.type} at ${path}`);
  }
}
