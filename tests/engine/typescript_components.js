// What a TypeScript program does with a package, read from its syntax tree (TypeScript's own
// parser): each `new <alias>.<Class>(name, { ... })` where <alias> imports the package, with the
// shape of every property it passes, and every property it reads from the resulting object.
// Usage: node typescript_components.js <program.ts> <npm package name>; prints JSON.
"use strict";
const fs = require("fs");
const ts = require("typescript");

const [file, packageName] = process.argv.slice(2);
const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);

function shape(node) {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        return { kind: "string", value: node.text };
    }
    if (ts.isNumericLiteral(node)) {
        return { kind: "number", value: Number(node.text) };
    }
    if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
        return { kind: "boolean", value: node.kind === ts.SyntaxKind.TrueKeyword };
    }
    if (ts.isArrayLiteralExpression(node)) {
        return { kind: "array", items: node.elements.map(shape) };
    }
    if (ts.isObjectLiteralExpression(node)) {
        const properties = {};
        for (const property of node.properties) {
            if (!ts.isPropertyAssignment(property)) {
                return { kind: "expression", text: property.getText(source) };
            }
            properties[property.name.getText(source)] = shape(property.initializer);
        }
        return { kind: "object", properties };
    }
    return { kind: "expression", text: node.getText(source) };
}

const aliases = new Set();
const constructions = [];
const variables = new Map();
const reads = [];

function visit(node) {
    if (
        ts.isImportDeclaration(node) &&
        node.moduleSpecifier.text === packageName &&
        node.importClause &&
        node.importClause.namedBindings &&
        ts.isNamespaceImport(node.importClause.namedBindings)
    ) {
        aliases.add(node.importClause.namedBindings.name.text);
    }
    if (
        ts.isNewExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ts.isIdentifier(node.expression.expression) &&
        aliases.has(node.expression.expression.text)
    ) {
        const [name, args] = node.arguments || [];
        const construction = {
            class: node.expression.name.text,
            name: name ? shape(name) : null,
            args: args ? shape(args) : null,
            variable: null,
        };
        if (ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)) {
            construction.variable = node.parent.name.text;
            variables.set(construction.variable, construction);
        }
        constructions.push(construction);
    }
    if (
        ts.isPropertyAccessExpression(node) &&
        ts.isIdentifier(node.expression) &&
        variables.has(node.expression.text)
    ) {
        reads.push({ variable: node.expression.text, property: node.name.text });
    }
    ts.forEachChild(node, visit);
}
visit(source);
process.stdout.write(JSON.stringify({ aliases: [...aliases], constructions, reads }) + "\n");
